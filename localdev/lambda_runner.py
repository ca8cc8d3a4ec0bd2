"""Runs a Lambda handler the way the Lambda runtime does, in a fresh interpreter.

`run_in_fresh_process` starts `python lambda_runner.py HANDLER EVENTS_FILE RESPONSES_FILE`: for the
built artifacts as `python3.12 -S` with only the function's build folder and the layer's python/
folder on PYTHONPATH (no site-packages) and bytecode writing off. The runner imports the handler once
(the cold start) and invokes it with each event in turn (warm invocations), writing the responses as
JSON.
"""

import importlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class Context:
    function_name = "built-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:built-function"
    aws_request_id = "9f1c1d6e-4d61-4f4a-8c59-0d1f0d2b3a4c"

    def get_remaining_time_in_millis(self) -> int:
        return 28_000


def peak_rss_kb() -> int:
    """This process's peak resident memory since it started. (getrusage's ru_maxrss would also
    count what the parent held when it forked this process: it survives exec.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(handler_path: str, events_file: str, responses_file: str) -> None:
    started = time.perf_counter()
    module, attribute = handler_path.rsplit(".", 1)
    handler = getattr(importlib.import_module(module), attribute)
    init_seconds = time.perf_counter() - started
    with open(events_file) as file:
        events = json.load(file)
    responses, seconds = [], []
    for event in events:
        invoked = time.perf_counter()
        responses.append(handler(event, Context()))
        seconds.append(time.perf_counter() - invoked)
    result = {
        "init_seconds": init_seconds,
        "invocation_seconds": seconds,
        "peak_rss_kb": peak_rss_kb(),
        "responses": responses,
        "modules": sorted(sys.modules),
    }
    with open(responses_file, "w") as file:
        json.dump(result, file)


def run_in_fresh_process(
    handler_path: str, events: list[Any], env: dict[str, str], workdir: Path, python: list[str] | None = None
) -> Any:
    """Cold-start `handler_path` in a new interpreter (`python`, default this one) with exactly `env`,
    invoke it with `events`, and return what main() wrote: init time, each invocation's time, peak
    memory, responses, modules."""
    (workdir / "events.json").write_text(json.dumps(events))
    result = subprocess.run(  # noqa: S603  (this interpreter or the one given, this file)
        [
            *(python or [sys.executable]),
            "-P",  # this file's folder stays off the path (localdev/token.py would shadow the stdlib's)
            __file__,
            handler_path,
            str(workdir / "events.json"),
            str(workdir / "out.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((workdir / "out.json").read_text())


if __name__ == "__main__":
    main(*sys.argv[1:4])
