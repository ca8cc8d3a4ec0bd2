"""`make dev`'s server as a developer runs it (`python -m localdev.server`, its own process and
workers), against the test database: requests side by side, and concurrent clients through it."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from localdev import ROOT
from localdev.fake_llm import ScriptedModel, text
from support.database import Database
from support.source_env import source_env
from support.users import User

WORKERS = 2
CLIENTS = 6  # concurrent clients per test: bounded, and more than the workers


@pytest.fixture(scope="module")
def base_url(database: Database) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**source_env(), "DATABASE_URL": database.url, "PORT": str(port), "DEV_WORKERS": str(WORKERS)}
    server = subprocess.Popen(
        [sys.executable, "-m", "localdev.server"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):  # noqa: S310 - loopback
                break
        except OSError:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "make dev's server did not start"
            time.sleep(0.2)
    yield url
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=20) == 0
    if server.stdout:
        server.stdout.close()


def request(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"content-type": "application/json", **(headers or {})}
    sent = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(sent, timeout=15) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def all_at_once(count: int, work: Any) -> list[Any]:
    """Run `work(i)` in `count` threads released together; their results in order."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        start.wait(timeout=10)
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_a_request_stuck_on_a_lock_stalls_nothing_else(base_url: str, user: User, db: psycopg.Connection[Any]) -> None:
    auth = {"Authorization": f"Bearer {user.token}"}
    _, task = request(f"{base_url}{user.tasks_path}", "POST", {"title": "locked"}, auth)
    stuck: list[tuple[int, float]] = []

    def patch() -> None:
        started = time.monotonic()
        status, _ = request(f"{base_url}{user.task_path(task['id'])}", "PATCH", {"title": "late"}, auth)
        stuck.append((status, time.monotonic() - started))

    with psycopg.connect(db.info.dsn) as holder:
        holder.execute("SELECT 1 FROM tasks WHERE id = %s FOR UPDATE", (task["id"],))
        blocked = threading.Thread(target=patch)
        blocked.start()
        time.sleep(0.3)
        started = time.monotonic()
        health = request(f"{base_url}/health")
        health_took = time.monotonic() - started
        blocked.join(timeout=15)
        holder.rollback()

    assert health == (200, {"status": "ok", "database": "ok"})
    [(status, took)] = stuck
    assert status == 503  # cut at DB_STATEMENT_TIMEOUT_MS (1.5 s in the tests)
    assert health_took < took


def test_concurrent_edits_of_one_task_end_in_a_state_a_client_sent(base_url: str, user: User) -> None:
    auth = {"Authorization": f"Bearer {user.token}"}
    _, task = request(f"{base_url}{user.tasks_path}", "POST", {"title": "start"}, auth)
    url = f"{base_url}{user.task_path(task['id'])}"

    statuses = all_at_once(CLIENTS, lambda i: request(url, "PATCH", {"title": f"client {i}"}, auth)[0])
    _, final = request(url, headers=auth)

    assert statuses == [200] * CLIENTS
    assert final["title"] in {f"client {i}" for i in range(CLIENTS)}
    assert final["version"] == 1 + CLIENTS  # every edit applied, one after the other


def test_concurrent_conditional_edits_of_one_version_apply_once(base_url: str, user: User) -> None:
    auth = {"Authorization": f"Bearer {user.token}"}
    _, task = request(f"{base_url}{user.tasks_path}", "POST", {"title": "start"}, auth)
    url = f"{base_url}{user.task_path(task['id'])}"

    statuses = all_at_once(
        CLIENTS, lambda i: request(url, "PATCH", {"title": f"client {i}"}, {**auth, "If-Match": '"1"'})[0]
    )

    assert sorted(statuses) == [200] + [412] * (CLIENTS - 1)
    assert request(url, headers=auth)[1]["version"] == 2


def test_concurrent_retries_with_one_key_create_one_task(
    base_url: str, user: User, db: psycopg.Connection[Any]
) -> None:
    headers = {"Authorization": f"Bearer {user.token}", "Idempotency-Key": "one-task"}
    url = f"{base_url}{user.tasks_path}"

    answers = all_at_once(CLIENTS, lambda _: request(url, "POST", {"title": "once"}, headers))

    assert {status for status, _ in answers} == {201}
    assert len({body["id"] for _, body in answers}) == 1
    rows = db.execute("SELECT count(*) FROM tasks WHERE user_id = %s", (user.id,)).fetchone()
    assert rows == (1,)


def test_concurrent_messages_in_one_conversation_keep_each_reply_with_its_message(
    base_url: str, user: User, model: ScriptedModel
) -> None:
    auth = {"Authorization": f"Bearer {user.token}"}
    chat_url = f"{base_url}/api/{user.id}/chat"
    model.script(text("Hello."))
    conversation_id = request(chat_url, "POST", {"message": "start"}, auth)[1]["conversation_id"]
    model.script(*[text(f"reply {n}") for n in range(CLIENTS)])  # served in arrival order, whoever arrives

    answers = all_at_once(
        CLIENTS,
        lambda i: request(chat_url, "POST", {"message": f"question {i}", "conversation_id": conversation_id}, auth),
    )
    _, detail = request(f"{base_url}/api/{user.id}/conversations/{conversation_id}", headers=auth)

    questions = {m["id"]: m["content"] for m in detail["messages"] if m["role"] == "user"}
    answered = {m["content"]: questions[m["turn_id"]] for m in detail["messages"] if m["role"] == "assistant"}
    for i, (status, body) in enumerate(answers):
        assert status == 200
        assert answered[body["response"]] == f"question {i}"  # each reply stored with its own question
    model.reset()
    model.script(text("Done."))
    request(chat_url, "POST", {"message": "and now?", "conversation_id": conversation_id}, auth)
    sent = [(m["role"], m["content"]) for m in model.requests[0]["messages"] if m["role"] != "system"]
    pairs = dict(zip(sent[0:-1:2], sent[1:-1:2], strict=True))
    assert pairs[("user", "start")] == ("assistant", "Hello.")
    for i, (_, body) in enumerate(answers):
        assert pairs[("user", f"question {i}")] == ("assistant", body["response"])
