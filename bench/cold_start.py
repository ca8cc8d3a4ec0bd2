"""Cold start with and without the bytecode `make build` ships, side by side.

Lambda's code folders are read-only, so Python cannot cache what it compiles: without .pyc files in
the build, every cold start compiles every module it imports. Each function's import (its init
phase, which Lambda bills) is timed in fresh processes from an x86_64 build, alternating a copy with
the .pyc files and one without.

    make bench
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from localdev.x86_build import build_x86_64

ROOT = Path(__file__).resolve().parent.parent
PYTHON = getattr(sys, "_base_executable", sys.executable)
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
FUNCTIONS = {
    "TasksFunction": "tasks_api.app",
    "AuthFunction": "auth_api.app",
    "ChatFunction": "chat_api.app",
    "McpFunction": "mcp_api.app",
}
IMPORT = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def without_bytecode(build: Path, into: Path) -> Path:
    shutil.copytree(build, into, symlinks=True)
    for cache in into.rglob("__pycache__"):
        shutil.rmtree(cache)
    return into


def cold_import(build: Path, function: str, module: str) -> float:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join([str(build / function), str(build / "CommonLayer" / "python")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DATABASE_URL": "postgresql://user@localhost/db",
        "SECRET_KEY": "k" * 40,
        "POWERTOOLS_SERVICE_NAME": "bench",
    }
    out = subprocess.run([PYTHON, "-S", "-c", IMPORT.format(module=module)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return float(out.stdout)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="todo-bench-build-"))
    build = build_x86_64(work)
    bare = without_bytecode(build, work / "no-bytecode")
    print(f"cold import of each function, median of {RUNS} fresh processes (x86_64 build)\n")
    print(f"{'function':<16}{'with .pyc':>12}{'without':>12}{'ratio':>8}{'vs tasks':>10}")
    timings: dict[tuple[str, str], list[float]] = {
        (function, kind): [] for function in FUNCTIONS for kind in ("with", "without")
    }
    for _ in range(RUNS):  # every function in every round, so that the machine's load hits all alike
        for function, module in FUNCTIONS.items():
            timings[function, "with"].append(cold_import(build, function, module))
            timings[function, "without"].append(cold_import(bare, function, module))
    medians = {key: statistics.median(values) for key, values in timings.items()}
    for function in FUNCTIONS:
        with_pyc, without = medians[function, "with"], medians[function, "without"]
        versus_tasks = with_pyc / medians["TasksFunction", "with"]
        print(
            f"{function:<16}{with_pyc * 1000:>10.0f}ms{without * 1000:>10.0f}ms"
            f"{without / with_pyc:>7.1f}x{versus_tasks:>9.2f}x"
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
