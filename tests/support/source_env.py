"""The environment for running the source tree in a subprocess, with the same import paths as pytest."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PATHS = ["layers/common", "functions/auth", "functions/chat", "functions/mcp", "functions/tasks", ".", "tests"]


def source_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / path) for path in SOURCE_PATHS)}
