"""Warm requests: round trips to Postgres per route and per tool call, latency per route beside the
floor and the lightest peer, and what the chat adds per message.

- Round trips are counted from what Postgres receives (a proxy reads the wire protocol; BEGIN,
  COMMIT and pings count as any statement would).
- Latency goes through each function's Lambda handler in this process with API Gateway v2.0
  events (p50 and p99 of BENCH_REQUESTS requests), beside the same SQL sent by psycopg on an open
  connection (the floor: the statements our request sent, replayed with their parameters) and the
  Powertools resolver peer (bench/peers/) for the routes it serves. Variants alternate request by
  request so that the machine's load hits them alike.
- Chat: a scripted model that answers at once; per message, the time and round trips of a
  one-tool and a three-tool message.

    make bench
"""

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pgserver
import psycopg
from sqlalchemy import event

from bench import results
from bench.environment import configure, token_for
from localdev.database import migrate
from localdev.events import LambdaContext, call, handler_for, http_event
from localdev.fake_llm import Reply, ScriptedModel, text, tool_calls
from localdev.pgproxy import CountingProxy

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
MCP_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def setup() -> tuple[str, CountingProxy, ScriptedModel]:
    server_url = pgserver.get_server(tempfile.mkdtemp(prefix="todo-bench-"), cleanup_mode="delete").get_uri()
    migrate(server_url)
    proxy = CountingProxy(f"{server_url.split('host=')[1]}/.s.PGSQL.5432")
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres?sslmode=disable"
    model = ScriptedModel()
    configure(
        url, BCRYPT_ROUNDS="4", GEMINI_API_KEY=model.api_key, LLM_BASE_URL=model.base_url, LLM_MODEL="bench-model"
    )
    return url, proxy, model


def prepared(method: str, path: str, **request: Any) -> Callable[[], int]:
    """A request whose v2.0 event is built once: calling it runs the handler only (as Lambda does)."""
    event, route = http_event(method, path, **request)
    assert route is not None, path
    handler, context = handler_for(route), LambdaContext()
    return lambda: int(handler(event, context)["statusCode"])


def mcp(token: str, name: str, arguments: dict[str, Any]) -> Callable[[], int]:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    return prepared("POST", "/mcp", token=token, json_body=message, headers=MCP_HEADERS)


def requests_to_measure(user_id: str, token: str) -> dict[str, Callable[[], int]]:
    """Every route (and every MCP tool), each as a request that succeeds again and again."""
    base = f"/api/{user_id}/tasks"
    task = call("POST", base, token=token, json_body={"title": "bench", "tags": ["work"]}).json()["id"]
    email = f"{user_id}@example.com"
    call("POST", "/api/auth/signup", json_body={"email": email, "password": "bench-pass-1"})
    chat = call("POST", f"/api/{user_id}/chat", token=token, json_body={"message": "hi"}).json()

    def deleted(delete: Callable[[int], Callable[[], int]]) -> Callable[[], int]:
        """Create a task, then delete it (the deletion's event is built for it)."""

        def run() -> int:
            created = call("POST", base, token=token, json_body={"title": "to delete"}).json()["id"]
            return delete(created)()

        return run

    return {
        "GET /": prepared("GET", "/"),
        "GET /health": prepared("GET", "/health"),
        "GET tasks (list, 100)": prepared("GET", base, token=token),
        "GET tasks?tag&overdue": prepared("GET", base, token=token, query={"tag": "work", "overdue": "true"}),
        "POST task": prepared("POST", base, token=token, json_body={"title": "bench"}),
        "GET task": prepared("GET", f"{base}/{task}", token=token),
        "PUT task": prepared("PUT", f"{base}/{task}", token=token, json_body={"title": "put"}),
        "PATCH task": prepared("PATCH", f"{base}/{task}", token=token, json_body={"completed": True}),
        "PATCH complete": prepared("PATCH", f"{base}/{task}/complete", token=token),
        "DELETE task": deleted(lambda created: prepared("DELETE", f"{base}/{created}", token=token)),
        "GET preferences": prepared("GET", f"/api/{user_id}/preferences", token=token),
        "PUT preferences": prepared(
            "PUT", f"/api/{user_id}/preferences", token=token, json_body={"timezone": "Europe/Berlin"}
        ),
        "POST login": prepared("POST", "/api/auth/login", json_body={"email": email, "password": "bench-pass-1"}),
        "GET me": prepared("GET", "/api/auth/me", token=token),
        "GET conversations": prepared("GET", f"/api/{user_id}/conversations", token=token),
        "GET conversation": prepared("GET", f"/api/{user_id}/conversations/{chat['conversation_id']}", token=token),
        "MCP add_task": mcp(token, "add_task", {"title": "via mcp"}),
        "MCP list_tasks": mcp(token, "list_tasks", {}),
        "MCP update_task": mcp(token, "update_task", {"task_id": task, "title": "renamed"}),
        "MCP complete_task": mcp(token, "complete_task", {"task_id": task}),
        "MCP delete_task": deleted(lambda created: mcp(token, "delete_task", {"task_id": created})),
    }


def round_trips(proxy: CountingProxy, requests: dict[str, Callable[[], int]]) -> dict[str, int]:
    counted = {}
    for name, request in requests.items():
        request()  # warm
        if "delete" in name.lower():  # its setup creates a task: count only the deletion itself
            counted[name] = 1 if _one_trip_delete(proxy, request) else -1
            continue
        proxy.reset()
        status = request()
        assert status < 300, (name, status)
        counted[name] = len(proxy.round_trips)
    return counted


def _one_trip_delete(proxy: CountingProxy, request: Callable[[], int]) -> bool:
    proxy.reset()
    request()
    return [trip[0].split()[0] for trip in proxy.round_trips] == ["INSERT", "DELETE"]


class Recorder:
    """The SQL (and its parameters) that our engine sends during one request."""

    def __init__(self) -> None:
        from todo_common.db import get_engine

        self.statements: list[tuple[str, Any]] = []
        self.recording = False
        event.listen(get_engine(), "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.recording:
            self.statements.append((statement, parameters))

    def capture(self, request: Callable[[], int]) -> list[tuple[str, Any]]:
        self.statements, self.recording = [], True
        request()
        self.recording = False
        return self.statements


def latency(url: str, token: str, user_id: str, requests: dict[str, Callable[[], int]]) -> dict[str, Any]:
    """p50/p99 per route: ours through the handler, the same SQL on an open psycopg connection,
    and the resolver peer where it serves the route."""
    from bench.peers.resolver_app import handler as peer_handler

    recorder = Recorder()
    floor = psycopg.connect(url, autocommit=True, prepare_threshold=None)
    task = requests_task_id(user_id, token)
    peer_events = {
        "GET /health": http_event("GET", "/health")[0],
        "GET tasks (list, 100)": http_event("GET", f"/api/{user_id}/tasks", token=token)[0],
        "GET task": http_event("GET", f"/api/{user_id}/tasks/{task}", token=token)[0],
    }
    measured = {}
    for name, request in requests.items():
        if name.startswith(("POST login", "DELETE", "MCP delete", "POST task", "MCP add")):
            continue  # bcrypt's cost, or a request that changes what the next one finds
        statements = recorder.capture(request)

        def replay(statements: list[tuple[str, Any]] = statements) -> None:
            for sql, params in statements:
                floor.execute(sql, params).fetchall()

        variants: dict[str, Callable[[], Any]] = {"ours": request, "raw SQL": replay}
        if name in peer_events:
            variants["resolver peer"] = partial(peer_handler, peer_events[name], None)
        samples: dict[str, list[float]] = {variant: [] for variant in variants}
        for _ in range(REQUESTS):
            for variant, run in variants.items():
                started = time.perf_counter()
                run()
                samples[variant].append(time.perf_counter() - started)
        measured[name] = {
            variant: {"p50_ms": round(percentile(s, 0.5), 3), "p99_ms": round(percentile(s, 0.99), 3)}
            for variant, s in samples.items()
        }
    floor.close()
    return measured


def requests_task_id(user_id: str, token: str) -> int:
    tasks = call("GET", f"/api/{user_id}/tasks", token=token, query={"limit": 1}).json()
    return int(tasks[0]["id"])


def chat_overhead(proxy: CountingProxy, model: ScriptedModel, user_id: str, token: str) -> dict[str, Any]:
    """Per message, with a model that answers at once: the time and the round trips the chat adds."""
    url = f"/api/{user_id}/chat"
    scripts: dict[str, Callable[[], list[Reply]]] = {
        "no tool": lambda: [text("Hello.")],
        "one tool": lambda: [tool_calls(("add_task", {"title": "milk"})), text("Added.")],
        "three tools": lambda: [
            tool_calls(("add_task", {"title": "a"}), ("add_task", {"title": "b"}), ("list_tasks", {})),
            text("Done."),
        ],
    }
    measured = {}
    for name, script in scripts.items():
        times: list[float] = []
        trips: list[int] = []
        for _ in range(max(REQUESTS // 10, 10)):
            model.script(*script())
            proxy.reset()
            started = time.perf_counter()
            response = call("POST", url, token=token, json_body={"message": "go"})
            times.append(time.perf_counter() - started)
            trips.append(len(proxy.round_trips))
            assert response.status == 200, response.body
        measured[name] = {"p50_ms": round(percentile(times, 0.5), 2), "round_trips": statistics.median(trips)}
    return measured


def main() -> None:
    url, proxy, model = setup()
    user_id = uuid.uuid4().hex
    token = token_for(user_id)
    model.script(text("Hello."))
    requests = requests_to_measure(user_id, token)
    for n in range(99):
        call("POST", f"/api/{user_id}/tasks", token=token, json_body={"title": f"task {n}"})

    trips = round_trips(proxy, requests)
    print("round trips to Postgres per warm request (-1: not one)")
    for name, count in trips.items():
        print(f"  {name:<26}{count:>3}")

    timed = latency(url, token, user_id, requests)
    print(f"\nwarm latency through the handler, {REQUESTS} requests, ms p50 / p99")
    print(f"  {'request':<26}{'ours':>16}{'raw SQL':>16}{'resolver peer':>16}{'ours/SQL':>10}{'ours/peer':>10}")
    for name, row in timed.items():
        cells = "".join(
            f"{row[v]['p50_ms']:>8.2f} /{row[v]['p99_ms']:>6.2f}" if v in row else f"{'-':>16}"
            for v in ("ours", "raw SQL", "resolver peer")
        )
        to_sql = row["ours"]["p50_ms"] / row["raw SQL"]["p50_ms"] if row["raw SQL"]["p50_ms"] else 0
        to_peer = f"{row['ours']['p50_ms'] / row['resolver peer']['p50_ms']:>10.2f}" if "resolver peer" in row else ""
        print(f"  {name:<26}{cells}{to_sql:>10.2f}{to_peer}")

    chat = chat_overhead(proxy, model, user_id, token)
    print("\nchat, with a model that answers at once: per message")
    for name, row in chat.items():
        print(f"  {name:<12}{row['p50_ms']:>8.2f} ms p50{row['round_trips']:>6g} round trips")
    results.record("warm", {"requests": REQUESTS, "round_trips": trips, "latency": timed, "chat": chat})
    model.close()


if __name__ == "__main__":
    main()
