"""The environment for running the source tree in a subprocess, with the same import paths as pytest."""

import os
import tomllib

from localdev import ROOT

SOURCE_PATHS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["pythonpath"]


def source_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / path) for path in SOURCE_PATHS)}
