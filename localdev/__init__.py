"""Local development: the embedded Postgres, migrations, and one server for all functions."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
# The Makefile puts its pinned uv first on PATH; outside make, the one it installs into .tools/.
UV = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
