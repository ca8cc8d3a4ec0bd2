"""What ships to Lambda is what the lockfile pins."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UV = shutil.which("uv") or str(ROOT / ".tools/bin/uv")  # the Makefile installs it there


def test_layer_requirements_match_the_lockfile() -> None:
    exported = subprocess.run(
        [UV, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--no-annotate", "--no-header"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert (ROOT / "layers/common/requirements.txt").read_text() == exported, "run `make requirements`"
