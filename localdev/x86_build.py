"""An x86_64 build of the stack with the real `make build`, for running the artifacts on this machine
(the deployed architecture is arm64, whose wheels do not run here)."""

import subprocess
from pathlib import Path

from localdev.database import ROOT


def build_x86_64(workdir: Path, *, cached: bool = False) -> Path:
    """Build into `workdir/build` from a copy of template.yaml that differs only in architecture."""
    workdir.mkdir(parents=True, exist_ok=True)
    template = (ROOT / "template.yaml").read_text().replace("arm64", "x86_64")
    template = template.replace("CodeUri: ", f"CodeUri: {ROOT}/").replace("ContentUri: ", f"ContentUri: {ROOT}/")
    (workdir / "template.yaml").write_text(template)
    build_dir = workdir / "build"
    flags = f"--template-file {workdir / 'template.yaml'} " + ("--cached" if cached else "--no-cached")
    # Our own make target, found on PATH as a developer runs it.
    command = ["make", "--no-print-directory", "build", f"BUILD_DIR={build_dir}", f"SAM_BUILD_FLAGS={flags}"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"make build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return build_dir
