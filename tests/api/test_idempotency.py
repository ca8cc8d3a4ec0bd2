"""Retries without duplicates: `POST /api/{user_id}/tasks` with an `Idempotency-Key`, through the
tasks function's Lambda handler, and racing retries straight against Postgres."""

import threading
from typing import Any

import psycopg
import pytest
from sqlmodel import Session

from localdev.events import Response, call
from localdev.fake_llm import ScriptedModel, error, text, tool_calls
from localdev.pgproxy import CountingProxy
from support.users import User
from todo_common import tasks
from todo_common.db import create_db_engine
from todo_common.idempotency import PURGE_BATCH, keyed
from todo_common.models import TaskCreate
from todo_common.settings import get_settings


def create(user: User, body: dict[str, Any], key: str | None) -> Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return call("POST", user.tasks_path, token=user.token, json_body=body, headers=headers)


def titles(db: psycopg.Connection[Any], user_id: str) -> list[str]:
    return [row[0] for row in db.execute("SELECT title FROM tasks WHERE user_id = %s ORDER BY id", (user_id,))]


def test_a_retry_gets_the_first_response_and_creates_nothing(user: User, db: psycopg.Connection[Any]) -> None:
    first = create(user, {"title": "Pay rent"}, "key-1")
    retry = create(user, {"title": "Pay rent"}, "key-1")

    assert (first.status, retry.status) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["etag"] == first.headers["etag"]
    assert titles(db, user.id) == ["Pay rent"]


def test_a_retry_gets_the_first_response_even_after_the_task_changed(user: User) -> None:
    first = create(user, {"title": "Pay rent"}, "key-1")
    call("PATCH", user.task_path(first.json()["id"]), token=user.token, json_body={"title": "Paid"})

    retry = create(user, {"title": "Pay rent"}, "key-1")

    assert retry.json() == first.json()


def test_the_same_request_in_another_encoding_is_the_same_request(user: User, db: psycopg.Connection[Any]) -> None:
    create(user, {"title": "Pay rent", "completed": False}, "key-1")

    retry = call(
        "POST",
        user.tasks_path,
        token=user.token,
        body='{"completed":false,  "title":"Pay rent"}',
        headers={"Idempotency-Key": "key-1", "content-type": "application/json"},
    )

    assert retry.headers["idempotent-replayed"] == "true"
    assert titles(db, user.id) == ["Pay rent"]


def test_the_same_key_with_another_request_is_refused(user: User, db: psycopg.Connection[Any]) -> None:
    create(user, {"title": "Pay rent"}, "key-1")

    other = create(user, {"title": "Buy a boat"}, "key-1")

    assert other.status == 422
    assert "different request" in other.json()["detail"]
    assert titles(db, user.id) == ["Pay rent"]


def test_keys_belong_to_one_user(user: User, other_user: User, db: psycopg.Connection[Any]) -> None:
    mine = create(user, {"title": "mine"}, "shared-key")
    theirs = create(other_user, {"title": "mine"}, "shared-key")

    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert titles(db, other_user.id) == ["mine"]


def test_without_a_key_every_request_creates(user: User, db: psycopg.Connection[Any]) -> None:
    create(user, {"title": "twice"}, None)
    create(user, {"title": "twice"}, None)

    assert titles(db, user.id) == ["twice", "twice"]


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, " leading-space", "trailing-space ", "tab\tinside", "ключ"],
    ids=["empty", "256-characters", "leading-space", "trailing-space", "control-character", "not-ascii"],
)
def test_a_malformed_key_is_refused(user: User, db: psycopg.Connection[Any], key: str) -> None:
    response = create(user, {"title": "x"}, key)

    assert response.status == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert titles(db, user.id) == []


def test_the_longest_key_is_accepted(user: User) -> None:
    key = "k" * 255

    assert create(user, {"title": "x"}, key).status == 201
    assert create(user, {"title": "x"}, key).headers["idempotent-replayed"] == "true"


def test_an_expired_key_is_a_new_key(user: User, db: psycopg.Connection[Any]) -> None:
    create(user, {"title": "first"}, "reused-next-day")
    db.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE user_id = %s", (user.id,))

    again = create(user, {"title": "second"}, "reused-next-day")

    assert again.status == 201
    assert "idempotent-replayed" not in again.headers
    assert titles(db, user.id) == ["first", "second"]


def test_requests_with_keys_delete_expired_keys_a_few_at_a_time(user: User, db: psycopg.Connection[Any]) -> None:
    db.execute(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, status_code, expires_at)"
        " SELECT 'someone', 'old-' || n, 'f', 201, now() - interval '1 hour' FROM generate_series(1, %s) n",
        (PURGE_BATCH + 5,),
    )

    def expired() -> int:
        row = db.execute("SELECT count(*) FROM idempotency_keys WHERE expires_at <= now()").fetchone()
        assert row is not None
        return int(row[0])

    before = expired()
    create(user, {"title": "x"}, "fresh-key")

    assert expired() == before - PURGE_BATCH
    db.execute("DELETE FROM idempotency_keys WHERE user_id = 'someone'")


def test_a_keyed_create_and_its_replay_are_one_round_trip_each(user: User, proxy: CountingProxy) -> None:
    create(user, {"title": "warm-up"}, None)
    proxy.reset()
    create(user, {"title": "counted"}, "counted-key")
    first = len(proxy.round_trips)
    proxy.reset()
    create(user, {"title": "counted"}, "counted-key")

    assert (first, len(proxy.round_trips)) == (1, 1)


def test_racing_retries_create_one_task(user: User, db: psycopg.Connection[Any]) -> None:
    """Eight requests with one key at once, each on a connection of its own (eight Lambda
    environments): exactly one creates, every one answers with that task."""
    racers = 8
    data = TaskCreate(title="exactly once")
    request = keyed("race", "POST /api/{user_id}/tasks", data.model_dump(mode="json"))
    assert request is not None
    engines = [create_db_engine(get_settings()) for _ in range(racers)]
    start = threading.Barrier(racers)
    results: list[tuple[int, bool]] = []

    def race(index: int) -> None:
        with Session(engines[index]) as session:
            start.wait(timeout=10)
            task, replayed = tasks.create_task_once(session, user.id, data, request)
            results.append((task.id, replayed))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for engine in engines:
        engine.dispose()

    assert len(results) == racers
    assert len({task_id for task_id, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * (racers - 1)
    assert titles(db, user.id) == ["exactly once"]


# The chat: a turn runs once per key


def chat(user: User, message: str, key: str, conversation_id: int | None = None) -> Response:
    body = {"message": message, "conversation_id": conversation_id}
    return call("POST", f"/api/{user.id}/chat", token=user.token, json_body=body, headers={"Idempotency-Key": key})


def messages_of(user: User, conversation_id: int) -> list[str]:
    url = f"/api/{user.id}/conversations/{conversation_id}"
    return [m["role"] for m in call("GET", url, token=user.token).json()["messages"]]


def test_a_retried_chat_turn_runs_its_tools_once(user: User, model: ScriptedModel, db: psycopg.Connection[Any]) -> None:
    model.script(tool_calls(("add_task", {"title": "Call mom"})), text("Added."))

    first = chat(user, "Remind me to call mom", "turn-1")
    retry = chat(user, "Remind me to call mom", "turn-1")

    assert first.status == retry.status == 200
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(model.requests) == 2  # the first turn's two model calls, nothing for the retry
    assert titles(db, user.id) == ["Call mom"]
    assert messages_of(user, first.json()["conversation_id"]) == ["user", "tool", "assistant"]


def test_a_chat_key_reused_for_another_message_is_refused(user: User, model: ScriptedModel) -> None:
    model.script(text("Hello."))
    chat(user, "Hi", "turn-1")

    other = chat(user, "Delete everything", "turn-1")

    assert other.status == 422
    assert len(model.requests) == 1


def chat_running_since(db: psycopg.Connection[Any], user: User, started: str) -> None:
    """A chat turn 'Hi' under the key turn-1, started at `started` and still running (or dead)."""
    from chat_api.routes import ChatRequest

    request = keyed("turn-1", "POST /api/{user_id}/chat", ChatRequest(message="Hi").model_dump(mode="json"))
    assert request is not None
    db.execute(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at, expires_at)"
        f" VALUES (%s, %s, %s, {started}, now() + interval '1 day')",
        (user.id, request.key, request.fingerprint),
    )


def test_a_chat_retry_while_the_first_still_runs_is_409(
    user: User, model: ScriptedModel, db: psycopg.Connection[Any]
) -> None:
    chat_running_since(db, user, "now()")

    running = chat(user, "Hi", "turn-1")

    assert running.status == 409
    assert running.headers["retry-after"]
    assert model.requests == []


def test_a_chat_turn_whose_lambda_died_is_taken_over_by_a_retry(
    user: User, model: ScriptedModel, db: psycopg.Connection[Any]
) -> None:
    chat_running_since(db, user, "now() - interval '5 minutes'")
    model.script(text("Hello again."))

    retry = chat(user, "Hi", "turn-1")

    assert retry.status == 200
    assert retry.json()["response"] == "Hello again."


def test_a_chat_turn_refused_before_it_changed_anything_leaves_the_key_free(
    user: User, model: ScriptedModel, db: psycopg.Connection[Any]
) -> None:
    missing = chat(user, "Hi", "turn-1", conversation_id=987654321)

    assert missing.status == 404
    assert db.execute("SELECT count(*) FROM idempotency_keys WHERE user_id = %s", (user.id,)).fetchone() == (0,)


def test_a_chat_turn_that_failed_after_its_tools_ran_is_replayed_not_rerun(
    user: User, model: ScriptedModel, db: psycopg.Connection[Any]
) -> None:
    model.script(tool_calls(("add_task", {"title": "kept"})), error(400, "Request contains an invalid argument."))

    failed = chat(user, "Add 'kept'", "turn-1")
    retry = chat(user, "Add 'kept'", "turn-1")

    assert failed.status == retry.status == 502
    assert retry.json() == failed.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert titles(db, user.id) == ["kept"]
    assert len(model.requests) == 2
