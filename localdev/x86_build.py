"""An x86_64 build of the stack with the real `make build`, for running the artifacts on this machine
(the deployed architecture is arm64, whose wheels do not run here)."""

import os
import subprocess
from pathlib import Path

from localdev.database import ROOT


def build_x86_64(workdir: Path, *, cached: bool = False) -> Path:
    """Build into `workdir/build` from a copy of template.yaml that differs only in architecture."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "template.yaml").write_text((ROOT / "template.yaml").read_text().replace("arm64", "x86_64"))
    build_dir = workdir / "build"
    # Code paths stay relative to the repository (--base-dir); the Makefile's build targets install
    # wheels for LAMBDA_ARCH.
    flags = f"--template-file {workdir / 'template.yaml'} --base-dir {ROOT} " + (
        "--cached" if cached else "--no-cached"
    )
    command = ["make", "--no-print-directory", "build", f"BUILD_DIR={build_dir}", f"SAM_BUILD_FLAGS={flags}"]
    environment = {**os.environ, "LAMBDA_ARCH": "x86_64"}
    result = subprocess.run(  # noqa: S603  (our own make target)
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"make build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return build_dir
