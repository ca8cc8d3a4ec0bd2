"""What one round trip per request buys: the tasks function with its engine, against the same
function on a conventional SQLAlchemy set-up (pool_pre_ping, a transaction per request with
COMMIT), side by side in one run, with simulated network latency between Lambda and Postgres.

    make bench                       # 1 ms per round trip (Lambda and Neon in one region)
    BENCH_LATENCY_MS=0 make bench    # loopback only

Requests go through the Lambda handler with API Gateway v2.0 events; both set-ups alternate
request by request so that machine noise hits them alike. Reported: round trips per request
(counted by the proxy) and the median time, with the conventional/ours ratio.
"""

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pgserver
from sqlalchemy import create_engine
from sqlmodel import Session

from bench import results
from bench.environment import configure, token_for
from localdev.pgproxy import CountingProxy

LATENCY = float(os.environ.get("BENCH_LATENCY_MS", "1")) / 1000
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))


def main() -> None:
    server_url = pgserver.get_server(tempfile.mkdtemp(prefix="todo-bench-"), cleanup_mode="delete").get_uri()
    socket_dir = server_url.split("host=")[1]
    proxy = CountingProxy(f"{socket_dir}/.s.PGSQL.5432", delay=LATENCY)
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres?sslmode=disable"
    configure(url)

    from localdev.database import migrate

    migrate(server_url)

    from localdev.events import call
    from tasks_api.app import app
    from todo_common.db import get_session
    from todo_common.settings import sqlalchemy_url

    conventional = create_engine(sqlalchemy_url(url), pool_size=1, max_overflow=0, pool_pre_ping=True)

    def conventional_session() -> Iterator[Session]:
        with Session(conventional, expire_on_commit=False) as session:
            yield session
            session.commit()

    user_id = uuid.uuid4().hex
    token = token_for(user_id)
    base = f"/api/{user_id}/tasks"
    task_id = call("POST", base, token=token, json_body={"title": "bench"}).json()["id"]
    requests: dict[str, Callable[[], Any]] = {
        "GET task": lambda: call("GET", f"{base}/{task_id}", token=token),
        "POST task": lambda: call("POST", base, token=token, json_body={"title": "bench"}),
        "PATCH task": lambda: call("PATCH", f"{base}/{task_id}", token=token, json_body={"completed": True}),
        "GET list (100)": lambda: call("GET", base, token=token),
    }

    print(f"{REQUESTS} requests each, {LATENCY * 1000:g} ms simulated latency per round trip\n")
    print(f"{'request':<16}{'round trips':>20}{'median ms':>22}{'ratio':>8}")
    figures: dict[str, Any] = {}
    for name, request in requests.items():
        samples: dict[str, list[float]] = {"ours": [], "conventional": []}
        trips: dict[str, int] = {"ours": 0, "conventional": 0}
        for _ in range(REQUESTS):
            for variant in ("ours", "conventional"):
                if variant == "conventional":
                    app.dependency_overrides[get_session] = conventional_session
                proxy.reset()
                start = time.perf_counter()
                response = request()
                samples[variant].append(time.perf_counter() - start)
                trips[variant] += len(proxy.round_trips)
                app.dependency_overrides.clear()
                assert response.status < 300, response.body
        ours, theirs = (statistics.median(samples[v]) * 1000 for v in ("ours", "conventional"))
        rt = f"{trips['ours'] / REQUESTS:g} vs {trips['conventional'] / REQUESTS:g}"
        print(f"{name:<16}{rt:>20}{f'{ours:.2f} vs {theirs:.2f}':>22}{theirs / ours:>7.2f}x")
        figures[name] = {"ours_ms": round(ours, 3), "conventional_ms": round(theirs, 3), "round_trips": rt}
    results.record("round_trips_vs_conventional", {"latency_ms": LATENCY * 1000, "requests": figures})


if __name__ == "__main__":
    main()
