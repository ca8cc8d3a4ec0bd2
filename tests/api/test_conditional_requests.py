"""ETags and conditional requests on tasks: edits without lost updates (If-Match → 412) and cheap
re-reads (If-None-Match → 304), through the tasks function's Lambda handler."""

import threading
from typing import Any

import psycopg
import pytest

from localdev.events import call
from localdev.pgproxy import CountingProxy
from support.users import User


def title_in_db(db: psycopg.Connection[Any], task_id: int) -> tuple[str, int] | None:
    row = db.execute("SELECT title, version FROM tasks WHERE id = %s", (task_id,)).fetchone()
    return None if row is None else (row[0], row[1])


def test_every_change_gives_the_task_a_new_etag(user: User) -> None:
    created = call("POST", user.tasks_path, token=user.token, json_body={"title": "draft"})
    assert created.status == 201
    task_id = created.json()["id"]

    patched = call("PATCH", user.task_path(task_id), token=user.token, json_body={"title": "v2"})
    completed = call("PATCH", user.task_path(task_id, "/complete"), token=user.token)
    read = call("GET", user.task_path(task_id), token=user.token)

    assert created.headers["etag"] == '"1"'
    assert created.json()["version"] == 1
    assert patched.headers["etag"] == '"2"'
    assert completed.headers["etag"] == '"3"'
    assert read.headers["etag"] == '"3"'
    assert read.json()["version"] == 3


# If-Match: no lost updates

CHANGES = [
    ("PUT", "", {"title": "replaced"}, 200),
    ("PATCH", "", {"title": "patched"}, 200),
    ("PATCH", "/complete", {"completed": True}, 200),
    ("PATCH", "/complete", None, 200),
    ("DELETE", "", None, 204),
]
CHANGE_IDS = ["put", "patch", "complete", "toggle", "delete"]


@pytest.mark.parametrize(("method", "suffix", "body", "status"), CHANGES, ids=CHANGE_IDS)
def test_a_change_with_the_current_etag_applies(
    user: User, db: psycopg.Connection[Any], method: str, suffix: str, body: Any, status: int
) -> None:
    task_id = user.create_task()["id"]

    response = call(
        method, user.task_path(task_id, suffix), token=user.token, json_body=body, headers={"If-Match": '"1"'}
    )

    assert response.status == status
    if status == 200:
        assert response.headers["etag"] == '"2"'
        assert title_in_db(db, task_id) is not None
    else:
        assert title_in_db(db, task_id) is None


@pytest.mark.parametrize(("method", "suffix", "body", "status"), CHANGES, ids=CHANGE_IDS)
def test_a_change_with_a_stale_etag_is_refused_with_the_current_task(
    user: User, db: psycopg.Connection[Any], method: str, suffix: str, body: Any, status: int
) -> None:
    task_id = user.create_task()["id"]
    call("PATCH", user.task_path(task_id), token=user.token, json_body={"title": "someone else's edit"})

    response = call(
        method, user.task_path(task_id, suffix), token=user.token, json_body=body, headers={"If-Match": '"1"'}
    )

    assert response.status == 412
    assert response.headers["etag"] == '"2"'
    assert response.json()["task"]["title"] == "someone else's edit"
    assert response.json()["task"]["version"] == 2
    assert isinstance(response.json()["detail"], str)
    assert title_in_db(db, task_id) == ("someone else's edit", 2)


def test_two_clients_editing_the_same_version_lose_nothing(user: User, db: psycopg.Connection[Any]) -> None:
    task_id = user.create_task("Plan trip")["id"]
    alice_saw = bob_saw = call("GET", user.task_path(task_id), token=user.token).headers["etag"]

    alice = call("PATCH", user.task_path(task_id), token=user.token, json_body={"title": "Plan trip to Rome"},
                 headers={"If-Match": alice_saw})  # fmt: skip
    bob = call("PATCH", user.task_path(task_id), token=user.token, json_body={"description": "by train"},
               headers={"If-Match": bob_saw})  # fmt: skip
    bob_again = call("PATCH", user.task_path(task_id), token=user.token, json_body={"description": "by train"},
                     headers={"If-Match": bob.headers["etag"]})  # fmt: skip

    assert (alice.status, bob.status, bob_again.status) == (200, 412, 200)
    assert bob_again.json()["title"] == "Plan trip to Rome"  # Alice's edit survived Bob's
    assert bob_again.json()["description"] == "by train"


def test_a_conditional_change_that_waits_on_a_concurrent_one_is_refused(
    user: User, db: psycopg.Connection[Any]
) -> None:
    task_id = user.create_task()["id"]
    with psycopg.connect(db.info.dsn) as other:
        other.execute("UPDATE tasks SET title = 'concurrent', version = version + 1 WHERE id = %s", (task_id,))
        # Commit the concurrent change while the request below waits for its row lock.
        threading.Timer(0.3, other.commit).start()

        response = call("PATCH", user.task_path(task_id), token=user.token, json_body={"title": "mine"},
                        headers={"If-Match": '"1"'})  # fmt: skip

    assert response.status == 412
    assert title_in_db(db, task_id) == ("concurrent", 2)


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ("*", 200),
        ('"7", "1"', 200),
        ('W/"1"', 412),  # If-Match compares strongly
        ("1", 412),  # not a quoted tag
        ('"99999999999999999999999"', 412),
        ('"\u00b2"', 412),  # ², a digit to str.isdigit, not to int()
        ("", 412),
    ],
)
def test_if_match_forms(user: User, if_match: str, status: int) -> None:
    task_id = user.create_task()["id"]

    response = call(
        "PATCH", user.task_path(task_id), token=user.token, json_body={"title": "x"}, headers={"If-Match": if_match}
    )

    assert response.status == status


def test_if_match_on_a_task_the_user_does_not_have_is_404(user: User, other_user: User) -> None:
    theirs = other_user.create_task()["id"]

    response = call("DELETE", user.task_path(theirs), token=user.token, headers={"If-Match": '"1"'})

    assert response.status == 404
    assert "task" not in response.json()  # nothing of the other user's task leaks


# If-None-Match: cheap re-reads


@pytest.mark.parametrize(("if_none_match", "status"), [('"1"', 304), ('W/"1"', 304), ("*", 304), ('"2"', 200)])
def test_if_none_match_on_get(user: User, if_none_match: str, status: int) -> None:
    task_id = user.create_task()["id"]

    response = call("GET", user.task_path(task_id), token=user.token, headers={"If-None-Match": if_none_match})

    assert response.status == status
    assert response.headers["etag"] == '"1"'
    assert (response.body == "") is (status == 304)


# Cost and documentation


@pytest.mark.parametrize("if_match", ['"1"', '"5"'], ids=["applies", "stale"])
def test_a_conditional_change_is_one_round_trip(user: User, proxy: CountingProxy, if_match: str) -> None:
    task_id = user.create_task()["id"]
    proxy.reset()

    call("PATCH", user.task_path(task_id), token=user.token, json_body={"title": "x"}, headers={"If-Match": if_match})

    [statements] = proxy.round_trips
    assert len(statements) == 1


def test_openapi_documents_etags_and_conditions() -> None:
    from tasks_api.app import app

    paths = app.openapi()["paths"]
    item = paths["/api/{user_id}/tasks/{task_id}"]

    assert "ETag" in item["get"]["responses"]["200"]["headers"]
    assert "304" in item["get"]["responses"]
    assert {p["name"] for p in item["get"]["parameters"]} >= {"if-none-match"}
    for method in ("put", "patch", "delete"):
        assert "412" in item[method]["responses"], method
        assert "if-match" in {p["name"] for p in item[method]["parameters"]}, method
    assert "412" in paths["/api/{user_id}/tasks/{task_id}/complete"]["patch"]["responses"]
