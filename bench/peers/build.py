"""Builds the yardsticks as Lambda artifacts for this machine (x86_64), like `sam build` would.

- the single function: every dependency of every function plus boto3 in one folder, with our
  packages and one app; no bytecode (SAM's default Python builder ships none);
- the resolver peer: Powertools, psycopg and PyJWT, and its one module; with bytecode, built
  the way our Makefile builds ours.
"""

import shutil
import subprocess
from pathlib import Path

from localdev.requirements import ROOT, UV

HERE = Path(__file__).resolve().parent
PLATFORM = ["--python-platform", "x86_64-manylinux_2_34", "--python-version", "3.12"]
PEER_PACKAGES = {"aws-lambda-powertools", "jmespath", "typing-extensions", "psycopg", "psycopg-binary", "pyjwt"}


def _python() -> str:
    return subprocess.run([UV, "python", "find", "3.12"], capture_output=True, text=True, check=True).stdout.strip()


def _pinned(*selection: str) -> list[str]:
    """Requirement lines from uv.lock for a selection (`uv export` flags)."""
    export = [UV, "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-annotate", "--no-header"]
    lines = subprocess.run([*export, *selection], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in lines.splitlines() if line and not line.startswith("#")]


def _install(requirements: list[str], target: Path) -> None:
    listed = target.parent / f"{target.name}-requirements.txt"
    listed.write_text("\n".join(requirements) + "\n")
    install = [UV, "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:", *PLATFORM]
    subprocess.run([*install, "--python", _python(), "--target", str(target), "-r", str(listed)], check=True)


def build_single_function(workdir: Path) -> Path:
    """Every route's code and every runtime dependency (boto3 included) in one folder."""
    target = workdir / "single-function"
    target.mkdir(parents=True, exist_ok=True)
    shipped = {"auth", "chat", "mcp"}  # the groups of the functions with dependencies of their own
    requirements = _pinned("--no-default-groups", *(f"--group={group}" for group in sorted(shipped)))
    boto3 = [line for line in _pinned("--all-groups") if line.split("==")[0] in {"boto3", "botocore", "s3transfer"}]
    _install(requirements + boto3, target)
    for source in (ROOT / "layers/common/todo_common", *sorted((ROOT / "functions").glob("*/*_api"))):
        shutil.copytree(source, target / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(HERE / "single_function_app.py", target)
    return target


def build_resolver_peer(workdir: Path) -> Path:
    """Powertools, psycopg and PyJWT, and the peer's module, compiled."""
    target = workdir / "resolver-peer"
    target.mkdir(parents=True, exist_ok=True)
    _install([line for line in _pinned("--all-groups") if line.split("==")[0] in PEER_PACKAGES], target)
    shutil.copy(HERE / "resolver_app.py", target)
    compile_all = ["-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)]
    subprocess.run([_python(), *compile_all], check=True, capture_output=True)
    return target
