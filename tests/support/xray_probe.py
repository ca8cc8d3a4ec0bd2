"""Runs one request through a handler with X-Ray tracing on, as in Lambda, and prints the segments
that reached a stand-in for the X-Ray daemon (a UDP socket). For tests/build/test_tracing.py.

    python xray_probe.py METHOD PATH TOKEN [JSON_BODY]
"""

import json
import os
import socket
import sys
import threading
import time

daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
received: list[str] = []


def listen() -> None:
    while True:
        received.append(daemon.recv(65536).decode())


threading.Thread(target=listen, daemon=True).start()
os.environ.update(
    LAMBDA_TASK_ROOT="/var/task",  # Powertools enables the tracer only inside Lambda
    AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{daemon.getsockname()[1]}",
    _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
)
os.environ.pop("POWERTOOLS_TRACE_DISABLED", None)

from localdev.events import http_event, invoke  # noqa: E402 - after the environment is set

method, path, token = sys.argv[1:4]
body = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None
event, route = http_event(method, path, token=token, json_body=body)
assert route is not None
status = invoke(event, route).status
time.sleep(0.3)  # the emitter sends over UDP; let the datagrams arrive
segments = [json.loads(datagram.split("\n", 1)[1]) for datagram in received]
print(json.dumps({"status": status, "subsegments": [[s.get("name"), s.get("namespace")] for s in segments]}))
