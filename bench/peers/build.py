"""Builds the yardsticks as x86_64 Lambda artifacts (this machine cannot run arm64 wheels).

- The single function: what a newcomer's one requirements.txt lists (every function's dependencies,
  and boto3 with what it needs), our packages and the one app, in one folder, without bytecode:
  SAM's default Python builder ships none.
- The resolver peer: Powertools, psycopg and PyJWT and what they need, and its one module, with
  bytecode compiled as our Makefile compiles ours.

Both install the versions of uv.lock, wheels for Amazon Linux 2023's glibc, with `--no-deps`.
"""

import shutil
import subprocess
from functools import cache
from pathlib import Path

from localdev import ROOT, UV
from localdev.requirements import EXPORT, RUNTIME_PROVIDED

HERE = Path(__file__).resolve().parent
PLATFORM = ["--python-platform", "x86_64-manylinux_2_34", "--python-version", "3.12"]
# uv.lock: Powertools needs jmespath and typing-extensions, psycopg needs typing-extensions before
# Python 3.13, PyJWT needs nothing for HS256 (cryptography is for the asymmetric algorithms).
PEER_PACKAGES = {"aws-lambda-powertools", "jmespath", "typing-extensions", "psycopg", "psycopg-binary", "pyjwt"}


def _run(*command: str) -> str:
    """A command's output; its error output in the exception when it fails."""
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} … failed:\n{result.stderr[-3000:]}")
    return result.stdout


@cache
def _python() -> str:
    return _run(UV, "python", "find", "3.12").strip()


def _pinned(names: set[str]) -> list[str]:
    """uv.lock's requirement lines (`name==version ; marker`) for these packages."""
    export = _run(UV, *EXPORT, "--all-groups").splitlines()
    locked = {line.split("==", 1)[0]: line for line in export if line and not line.startswith("#")}
    if missing := names - locked.keys():
        raise RuntimeError(f"not in uv.lock: {sorted(missing)}")
    return [locked[name] for name in sorted(names)]


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _install(target: Path, *requirements: str) -> None:
    """Install exactly these requirements (arguments to `uv pip install`: lines or `-r file`)."""
    install = [UV, "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:", *PLATFORM]
    _run(*install, "--python", _python(), "--target", str(target), *requirements)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: SAM unpacks wheels without them


def build_single_function(workdir: Path) -> Path:
    """Every route's code and every dependency, boto3's included, in one folder; no bytecode."""
    target = _fresh(workdir / "single-function")
    files = [ROOT / "layers/common/requirements.txt", *sorted(ROOT.glob("functions/*/requirements.txt"))]
    _install(target, *(f"--requirement={file}" for file in files), *_pinned(RUNTIME_PROVIDED))
    for package in (ROOT / "layers/common/todo_common", *sorted(ROOT.glob("functions/*/*_api"))):
        shutil.copytree(package, target / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(HERE / "single_function_app.py", target)
    return target


def build_resolver_peer(workdir: Path) -> Path:
    """Powertools, psycopg, PyJWT and the peer's module, compiled as `make build` compiles ours."""
    target = _fresh(workdir / "resolver-peer")
    _install(target, *_pinned(PEER_PACKAGES))
    shutil.copy(HERE / "resolver_app.py", target)
    _run(_python(), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target))
    return target
