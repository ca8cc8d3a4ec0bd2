"""Builds of the stack with the real `make build` (plain `sam build`), into a folder of one's own:
for the template's architecture (what deploys, arm64) or another one (x86_64, whose wheels run on
this machine)."""

import os
import subprocess
from pathlib import Path

from localdev import ROOT, UV
from localdev.routing import load_template


def template_architecture() -> str:
    [architecture] = load_template()["Globals"]["Function"]["Architectures"]
    return str(architecture)


def build_stack(workdir: Path, architecture: str | None = None, *, cached: bool = False) -> Path:
    """Build into `workdir/build` from a copy of template.yaml that differs at most in architecture."""
    deployed = template_architecture()
    architecture = architecture or deployed
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "template.yaml").write_text((ROOT / "template.yaml").read_text().replace(deployed, architecture))
    build_dir = workdir / "build"
    # Code paths stay relative to the repository (--base-dir); the Makefile's build targets install
    # wheels for LAMBDA_ARCH.
    flags = f"--template-file {workdir / 'template.yaml'} --base-dir {ROOT} " + (
        "--cached" if cached else "--no-cached"
    )
    command = ["make", "--no-print-directory", "build", f"BUILD_DIR={build_dir}", f"SAM_BUILD_FLAGS={flags}"]
    environment = {**os.environ, "LAMBDA_ARCH": architecture}
    result = subprocess.run(  # noqa: S603  (our own make target)
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"make build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return build_dir


# Lambda's Python runtime provides boto3 (and what it needs) beside the standard library. Stood in
# for by the oldest boto3 that Powertools accepts (its Parameters utility reads our secrets with
# it); the runtime's own is at least this new.
RUNTIME_BOTO3 = "boto3==1.34.32"


def install_lambda_runtime(folder: Path) -> Path:
    """What Lambda's Python runtime adds to the path (boto3), for x86_64, into `folder`."""
    python = subprocess.run([UV, "python", "find", "3.12"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
    platform = ["--python-platform", "x86_64-manylinux_2_34", "--python", python]
    install = [UV, "pip", "install", "--quiet", "--only-binary", ":all:", *platform, "--target", str(folder)]
    subprocess.run([*install, RUNTIME_BOTO3], check=True, capture_output=True, timeout=300)  # noqa: S603
    return folder
