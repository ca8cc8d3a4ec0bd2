"""Cold start of each function, side by side with what it could be compared to, and the sizes.

Each run is a fresh Python 3.12 process (`-S`: no site-packages) with only the artifact's folders
on the path (the function's, the layer's, and boto3 as Lambda's runtime provides it), bytecode
writing off (Lambda's code folders are read-only), that imports the handler and answers its first
request against a warm local Postgres. Variants, alternated round by round so that the machine's
load hits all alike:

- ours: `sam build`'s artifact (compiled bytecode, each function its own dependencies);
- no bytecode: the same artifact without its .pyc files;
- single function: every route in one FastAPI app behind one handler, every dependency in one
  folder, no bytecode (what a newcomer's `sam build` ships; bench/peers/);
- resolver peer: Powertools' APIGatewayHttpResolver with psycopg and PyJWT serving the list route,
  with bytecode (the lightest peer; bench/peers/);
- floor: `import` of the libraries the function needs, from our artifact (with bytecode); no request.

    make bench      (BENCH_RUNS=5 by default)
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pgserver
import psycopg

from bench import results
from bench.environment import SECRET_KEY, token_for
from bench.peers.build import build_resolver_peer, build_single_function
from bench.sizes import megabytes, sizes
from localdev.builds import build_stack, install_lambda_runtime
from localdev.database import migrate
from localdev.events import http_event
from localdev.lambda_runner import run_in_fresh_process

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PYTHON = getattr(sys, "_base_executable", sys.executable)
USER_ID = uuid.uuid4().hex
TOKEN = token_for(USER_ID)

# Function → its handler, its first request, and the libraries it cannot start without (the floor).
BASE_LIBRARIES = "aws_lambda_powertools, fastapi, jwt, mangum, psycopg, pydantic_settings, sqlmodel, zoneinfo"
MCP_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_tasks", "arguments": {}}}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}
FUNCTIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "TasksFunction": (
        "tasks_api.app.handler",
        http_event("GET", f"/api/{USER_ID}/tasks", token=TOKEN)[0],
        BASE_LIBRARIES,
    ),
    "AuthFunction": (
        "auth_api.app.handler",
        http_event("GET", "/api/auth/me", token=TOKEN)[0],
        f"{BASE_LIBRARIES}, bcrypt, email_validator",
    ),
    "ChatFunction": (
        "chat_api.app.handler",
        http_event("GET", f"/api/{USER_ID}/conversations", token=TOKEN)[0],
        f"{BASE_LIBRARIES}, openai",
    ),
    "McpFunction": (
        "mcp_api.app.handler",
        http_event("POST", "/mcp", token=TOKEN, json_body=MCP_LIST, headers=MCP_HEADERS)[0],
        f"{BASE_LIBRARIES}, mcp",
    ),
}
FLOOR = "import time; t = time.perf_counter(); import {libraries}; print(time.perf_counter() - t)"


def cold_start(path: list[Path], handler: str, event: dict[str, Any], env: dict[str, str], work: Path) -> Any:
    """(init + first request seconds, peak RSS in MB) of one fresh process."""
    environment = {**env, "PYTHONPATH": os.pathsep.join(map(str, path)), "PYTHONDONTWRITEBYTECODE": "1"}
    run = run_in_fresh_process(handler, [event], environment, work, python=[PYTHON, "-S"])
    status = run["responses"][0]["statusCode"]
    assert status == 200, f"{handler}: {status} {run['responses'][0].get('body')}"
    return run["init_seconds"] + run["invocation_seconds"][0], run["peak_rss_kb"] / 1024


def floor(path: list[Path], libraries: str, env: dict[str, str]) -> float:
    environment = {**env, "PYTHONPATH": os.pathsep.join(map(str, path)), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [PYTHON, "-S", "-c", FLOOR.format(libraries=libraries)], env=environment, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return float(out.stdout)


def without_bytecode(build: Path, into: Path) -> Path:
    shutil.copytree(build, into, symlinks=True)
    for cache in into.rglob("__pycache__"):
        shutil.rmtree(cache)
    return into


def database() -> str:
    url: str = pgserver.get_server(tempfile.mkdtemp(prefix="todo-bench-"), cleanup_mode="delete").get_uri()
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tasks (user_id, title) SELECT %s, 'task ' || n FROM generate_series(1, 100) n", (USER_ID,)
        )
    return url


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="todo-bench-cold-"))
    print("building: sam build (x86_64), the peers, the runtime's boto3 ...", flush=True)
    build = build_stack(work / "sam", "x86_64")
    bare = without_bytecode(build, work / "no-bytecode")
    single = build_single_function(work / "single")
    peer = build_resolver_peer(work / "peer")
    runtime = install_lambda_runtime(work / "runtime")
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": database(),
        "SECRET_KEY": SECRET_KEY,
        "POWERTOOLS_SERVICE_NAME": "bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }

    def layered(root: Path, function: str) -> list[Path]:
        return [root / function, root / "CommonLayer" / "python", runtime]

    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_number in range(RUNS):
        print(f"round {round_number + 1} of {RUNS}", flush=True)
        for function, (handler, event, libraries) in FUNCTIONS.items():
            runs = {
                "ours": (layered(build, function), handler),
                "no bytecode": (layered(bare, function), handler),
                "single function": ([single, runtime], "single_function_app.handler"),
            }
            if function == "TasksFunction":
                runs["resolver peer"] = ([peer], "resolver_app.handler")
            for variant, (path, entry) in runs.items():
                samples.setdefault((function, variant), []).append(cold_start(path, entry, event, env, work))
            samples.setdefault((function, "floor"), []).append((floor(layered(build, function), libraries, env), 0.0))
    report(samples)
    report_sizes(build)
    shutil.rmtree(work, ignore_errors=True)


VARIANTS = ("ours", "no bytecode", "single function", "resolver peer", "floor")


def report(samples: dict[tuple[str, str], list[tuple[float, float]]]) -> None:
    medians = {
        key: (statistics.median(s for s, _ in values), statistics.median(m for _, m in values))
        for key, values in samples.items()
    }
    print(f"\ncold start: import + first request, median of {RUNS} fresh processes, ms (peak MB)")
    print(f"{'function':<15}" + "".join(f"{variant:>20}" for variant in VARIANTS))
    table: dict[str, Any] = {}
    for function in FUNCTIONS:
        cells, row = [], {}
        for variant in VARIANTS:
            if (function, variant) not in medians:
                cells.append(f"{'-':>20}")
                continue
            seconds, peak = medians[function, variant]
            row[variant] = {"ms": round(seconds * 1000, 1), "peak_mb": round(peak, 1)}
            cells.append(f"{seconds * 1000:>12.0f} ({peak:>4.0f})" if peak else f"{seconds * 1000:>19.0f} ")
        print(f"{function:<15}" + "".join(cells))
        ours = medians[function, "ours"][0]
        row["ratios"] = {
            f"ours / {variant}": round(ours / medians[function, variant][0], 2)
            for variant in VARIANTS[1:]
            if (function, variant) in medians
        }
        table[function] = row
    print("\nratios (ours / the other)")
    for function, row in table.items():
        print(
            f"{function:<15}"
            + "  ".join(f"{name.split(' / ')[1]}: {ratio:.2f}" for name, ratio in row["ratios"].items())
        )
    results.record("cold_start", {"runs": RUNS, "functions": table})


def report_sizes(build: Path) -> None:
    measured = sizes(build)
    print(f"\n{'artifact':<16}{'unzipped':>12}{'zipped':>12}   (x86_64 build)")
    for resource, (unzipped, zipped) in measured.items():
        print(f"{resource:<16}{megabytes(unzipped):>12}{megabytes(zipped):>12}")
    results.record("sizes_x86_64", {name: {"unzipped": u, "zipped": z} for name, (u, z) in measured.items()})


if __name__ == "__main__":
    main()
