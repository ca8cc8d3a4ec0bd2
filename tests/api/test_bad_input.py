"""Hostile and broken input to the tasks API: always a clear 4xx `{"detail": ...}`, never a 500,
and a refused request never creates, changes or loses a task."""

from typing import Any

import pytest

from localdev.events import Response, call
from support.users import User

JSON = {"content-type": "application/json"}
MIB = 1024 * 1024
BIGINT_MAX = 2**63 - 1


def _listing(user: User) -> tuple[list[dict[str, Any]], str]:
    """The user's whole task list and its X-Total-Count, to compare before and after a refusal."""
    response = user.list_tasks(limit=500)
    assert response.status == 200, response.body
    return response.json(), response.headers["x-total-count"]


def _assert_refused(response: Response, status: int) -> None:
    assert response.status == status, response.body
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"]


@pytest.fixture
def task(user: User) -> dict[str, Any]:
    """One existing task of `user`, for the requests that try to change it."""
    return user.create_task("Existing task", description="Left alone")


# --- Bodies that are not a JSON object ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"title": "unterminated', id="malformed-json"),
        pytest.param("{'title': 'single quotes'}", id="single-quotes"),
        pytest.param('{"title": "x"} trailing', id="trailing-garbage"),
        pytest.param('["title", "x"]', id="array"),
        pytest.param('"just a string"', id="string"),
        pytest.param("42", id="number"),
        pytest.param("null", id="null"),
        pytest.param("true", id="boolean"),
        pytest.param("", id="empty"),
    ],
)
def test_create_task_refuses_a_body_that_is_not_a_json_object(user: User, task: dict[str, Any], body: str) -> None:
    before = _listing(user)

    response = call("POST", user.tasks_path, token=user.token, body=body, headers=JSON)

    _assert_refused(response, 422)
    assert _listing(user) == before


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize(
    "body", ['{"title": ', '["title", "x"]', '"just a string"', "42", "null"], ids=lambda body: body or "empty"
)
def test_update_task_refuses_a_body_that_is_not_a_json_object(
    user: User, task: dict[str, Any], method: str, body: str
) -> None:
    response = call(method, user.task_path(task["id"]), token=user.token, body=body, headers=JSON)

    _assert_refused(response, 422)
    assert user.get_task(task["id"]) == task


@pytest.mark.parametrize("body", ['{"completed": ', "[]", '"yes"', "5", "false", "{}", '{"completed": "yes"}'])
def test_complete_task_refuses_a_body_that_is_not_a_completion_object(
    user: User, task: dict[str, Any], body: str
) -> None:
    response = call("PATCH", user.task_path(task["id"], "/complete"), token=user.token, body=body, headers=JSON)

    _assert_refused(response, 422)
    assert user.get_task(task["id"]) == task


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested-too-deep"),
        pytest.param(b'{"title": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param('{"title": "x", "description": ' + "9" * 5000 + "}", id="5000-digit-number"),
    ],
)
def test_create_task_refuses_an_unparseable_body_without_a_server_error(
    user: User, task: dict[str, Any], body: str | bytes
) -> None:
    before = _listing(user)

    response = call("POST", user.tasks_path, token=user.token, body=body, headers=JSON)

    _assert_refused(response, 422)  # like malformed JSON: a body that cannot be read as JSON is invalid input
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert _listing(user) == before


# --- Field types and values ------------------------------------------------------------------------

WRONG_TYPES = [
    pytest.param({"title": 123}, id="title-int"),
    pytest.param({"title": True}, id="title-bool"),
    pytest.param({"title": ["x"]}, id="title-list"),
    pytest.param({"title": {"text": "x"}}, id="title-object"),
    pytest.param({"title": "ok", "completed": "yes"}, id="completed-str"),
    pytest.param({"title": "ok", "completed": 1}, id="completed-int"),
    pytest.param({"title": "ok", "completed": "true"}, id="completed-str-true"),
    pytest.param({"title": "ok", "description": 5}, id="description-int"),
    pytest.param({"title": "ok", "description": ["x"]}, id="description-list"),
]


@pytest.mark.parametrize("body", WRONG_TYPES)
def test_create_task_refuses_wrong_field_types(user: User, task: dict[str, Any], body: dict[str, Any]) -> None:
    before = _listing(user)

    response = call("POST", user.tasks_path, token=user.token, json_body=body)

    _assert_refused(response, 422)
    assert _listing(user) == before


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("body", WRONG_TYPES)
def test_update_task_refuses_wrong_field_types(
    user: User, task: dict[str, Any], method: str, body: dict[str, Any]
) -> None:
    response = call(method, user.task_path(task["id"]), token=user.token, json_body=body)

    _assert_refused(response, 422)
    assert user.get_task(task["id"]) == task


BAD_TEXT = [
    pytest.param({"title": ""}, id="title-empty"),
    pytest.param({"title": "   "}, id="title-spaces"),
    pytest.param({"title": "\t\n \u00a0"}, id="title-other-whitespace"),
    pytest.param({"title": "x" * 201}, id="title-201"),
    pytest.param({"title": " " + "x" * 201 + " "}, id="title-201-padded"),
    pytest.param({"title": "a\x00b"}, id="title-nul"),
    pytest.param({"title": "ok", "description": "d" * 1001}, id="description-1001"),
    pytest.param({"title": "ok", "description": "a\x00b"}, id="description-nul"),
]


@pytest.mark.parametrize("body", BAD_TEXT)
def test_create_task_refuses_bad_text(user: User, task: dict[str, Any], body: dict[str, Any]) -> None:
    before = _listing(user)

    response = call("POST", user.tasks_path, token=user.token, json_body=body)

    _assert_refused(response, 422)
    assert _listing(user) == before


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("body", BAD_TEXT)
def test_update_task_refuses_bad_text(user: User, task: dict[str, Any], method: str, body: dict[str, Any]) -> None:
    response = call(method, user.task_path(task["id"]), token=user.token, json_body=body)

    _assert_refused(response, 422)
    assert user.get_task(task["id"]) == task


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"title": "a\\ud800b"}', id="title-high-surrogate"),
        pytest.param('{"title": "a\\udfffb"}', id="title-low-surrogate"),
        pytest.param('{"title": "ok", "description": "\\ud800"}', id="description-surrogate"),
        pytest.param('{"title": "a\\u0000b"}', id="title-escaped-nul"),
    ],
)
def test_create_task_refuses_text_postgres_cannot_store(user: User, task: dict[str, Any], body: str) -> None:
    before = _listing(user)

    response = call("POST", user.tasks_path, token=user.token, body=body, headers=JSON)

    _assert_refused(response, 422)
    assert _listing(user) == before


def test_patch_task_refuses_a_lone_surrogate(user: User, task: dict[str, Any]) -> None:
    body = '{"description": "a\\ud800b"}'

    response = call("PATCH", user.task_path(task["id"]), token=user.token, body=body, headers=JSON)

    _assert_refused(response, 422)
    assert user.get_task(task["id"]) == task


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        pytest.param("x" * 200, "x" * 200, id="200"),
        pytest.param("  " + "x" * 200 + " \t", "x" * 200, id="200-after-trimming"),
        pytest.param("\U0001f600" * 200, "\U0001f600" * 200, id="200-astral-characters"),
    ],
)
def test_create_task_accepts_a_title_of_200_characters(user: User, sent: str, stored: str) -> None:
    response = call("POST", user.tasks_path, token=user.token, json_body={"title": sent})

    assert response.status == 201, response.body
    assert response.json()["title"] == stored
    assert user.get_task(response.json()["id"])["title"] == stored


@pytest.mark.parametrize("description", ["d" * 1000, "\U0001f600" * 1000], ids=["1000", "1000-astral-characters"])
def test_create_task_accepts_a_description_of_1000_characters(user: User, description: str) -> None:
    response = call("POST", user.tasks_path, token=user.token, json_body={"title": "ok", "description": description})

    assert response.status == 201, response.body
    assert user.get_task(response.json()["id"])["description"] == description


# --- PATCH and PUT semantics -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"title": None}, id="title-null"),
        pytest.param({"completed": None}, id="completed-null"),
        pytest.param({"title": None, "completed": True}, id="title-null-with-valid-field"),
        pytest.param({"title": "Changed", "completed": "yes"}, id="valid-title-with-bad-completed"),
        pytest.param({"description": "Changed", "title": ""}, id="valid-description-with-empty-title"),
    ],
)
def test_patch_task_refuses_and_leaves_the_task_unchanged(
    user: User, task: dict[str, Any], body: dict[str, Any]
) -> None:
    before = _listing(user)

    response = call("PATCH", user.task_path(task["id"]), token=user.token, json_body=body)

    _assert_refused(response, 422)
    assert user.get_task(task["id"]) == task
    assert _listing(user) == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"description": "Changed", "completed": True}, id="missing-title"),
        pytest.param({"title": None, "description": "Changed"}, id="null-title"),
        pytest.param({"title": "Changed", "completed": None}, id="null-completed"),
    ],
)
def test_replace_task_refuses_and_leaves_the_task_unchanged(
    user: User, task: dict[str, Any], body: dict[str, Any]
) -> None:
    before = _listing(user)

    response = call("PUT", user.task_path(task["id"]), token=user.token, json_body=body)

    _assert_refused(response, 422)
    assert user.get_task(task["id"]) == task
    assert _listing(user) == before


def test_create_task_ignores_ownership_and_id_in_the_body(user: User, other_user: User, task: dict[str, Any]) -> None:
    body = {
        "title": "Mine",
        "user_id": other_user.id,
        "id": task["id"],
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
    }

    response = call("POST", user.tasks_path, token=user.token, json_body=body)

    assert response.status == 201, response.body
    created = response.json()
    assert created["user_id"] == user.id
    assert created["id"] != task["id"]
    assert not created["created_at"].startswith("2000-")
    assert user.get_task(task["id"]) == task
    tasks, total = _listing(user)
    assert total == "2"
    assert {t["id"] for t in tasks} == {task["id"], created["id"]}
    assert _listing(other_user) == ([], "0")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_task_ignores_ownership_and_id_in_the_body(
    user: User, other_user: User, task: dict[str, Any], method: str
) -> None:
    body = {"title": "Renamed", "user_id": other_user.id, "id": task["id"] + 1000}

    response = call(method, user.task_path(task["id"]), token=user.token, json_body=body)

    assert response.status == 200, response.body
    assert response.json()["id"] == task["id"]
    assert response.json()["user_id"] == user.id
    assert user.get_task(task["id"])["title"] == "Renamed"
    assert _listing(other_user) == ([], "0")


# --- Body size and Content-Type ---------------------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    """A JSON task whose description pads the body to exactly `size` bytes."""
    skeleton = b'{"title": "Big", "description": ""}'
    body = skeleton.replace(b'""', b'"' + b"d" * (size - len(skeleton)) + b'"')
    assert len(body) == size
    return body


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("declared_length", [None, "10"], ids=["honest-length", "understated-length"])
def test_write_task_refuses_a_body_over_1_mib(
    user: User, task: dict[str, Any], method: str, declared_length: str | None
) -> None:
    before = _listing(user)
    path = user.tasks_path if method == "POST" else user.task_path(task["id"])
    headers = JSON if declared_length is None else {**JSON, "content-length": declared_length}

    response = call(method, path, token=user.token, body=_body_of_size(MIB + 1), headers=headers)

    _assert_refused(response, 413)
    assert _listing(user) == before


def test_create_task_reads_a_body_of_exactly_1_mib(user: User) -> None:
    response = call("POST", user.tasks_path, token=user.token, body=_body_of_size(MIB), headers=JSON)

    # Past the size guard: refused by validation (the description is too long), not as too large.
    _assert_refused(response, 422)
    assert response.json()["detail"][0]["loc"] == ["body", "description"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/json"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "PATCH complete"])
def test_write_task_refuses_a_body_that_is_not_declared_json(
    user: User, task: dict[str, Any], method: str, content_type: str
) -> None:
    before = _listing(user)
    paths = {
        "POST": user.tasks_path,
        "PUT": user.task_path(task["id"]),
        "PATCH": user.task_path(task["id"]),
        "PATCH complete": user.task_path(task["id"], "/complete"),
    }
    body = '{"title": "Changed", "completed": true}'

    response = call(
        method.split()[0], paths[method], token=user.token, body=body, headers={"content-type": content_type}
    )

    _assert_refused(response, 415)
    assert user.get_task(task["id"]) == task
    assert _listing(user) == before


def test_create_task_refuses_a_body_without_a_content_type(user: User, task: dict[str, Any]) -> None:
    before = _listing(user)

    response = call("POST", user.tasks_path, token=user.token, body='{"title": "No content type"}')

    assert response.status in {415, 422}, response.body
    assert response.json()["detail"]
    assert _listing(user) == before


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"]
)
def test_create_task_accepts_json_content_types(user: User, content_type: str) -> None:
    response = call(
        "POST", user.tasks_path, token=user.token, body='{"title": "Typed"}', headers={"content-type": content_type}
    )

    assert response.status == 201, response.body
    assert response.json()["title"] == "Typed"


def test_create_task_accepts_a_base64_encoded_body(user: User) -> None:
    body = '{"title": "Caf\u00e9 \U0001f600", "description": "sent as base64"}'.encode()

    response = call("POST", user.tasks_path, token=user.token, body=body, headers=JSON)

    assert response.status == 201, response.body
    stored = user.get_task(response.json()["id"])
    assert (stored["title"], stored["description"]) == ("Caf\u00e9 \U0001f600", "sent as base64")


# --- Task ids in the path ---------------------------------------------------------------------------

_ID_CALLS = [
    ("GET", "", None),
    ("PUT", "", {"title": "Changed"}),
    ("PATCH", "", {"title": "Changed"}),
    ("PATCH", "/complete", {"completed": True}),
    ("DELETE", "", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), _ID_CALLS, ids=[f"{m}{s}" for m, s, _ in _ID_CALLS])
@pytest.mark.parametrize(
    "task_id",
    [
        "abc",
        "1.5",
        "%00",
        "0",
        "-1",
        str(BIGINT_MAX + 1),
        "99999999999999999999999",
        "9" * 5000,
    ],
    ids=lambda task_id: task_id if len(task_id) < 30 else f"{len(task_id)}-digits",
)
def test_task_route_refuses_an_invalid_task_id(
    user: User, task: dict[str, Any], method: str, suffix: str, body: dict[str, Any] | None, task_id: str
) -> None:
    before = _listing(user)

    response = call(method, user.task_path(task_id, suffix), token=user.token, json_body=body)

    _assert_refused(response, 422)
    assert response.json()["detail"][0]["loc"] == ["path", "task_id"]
    assert _listing(user) == before


@pytest.mark.parametrize(("method", "suffix", "body"), _ID_CALLS, ids=[f"{m}{s}" for m, s, _ in _ID_CALLS])
def test_task_route_answers_404_for_the_largest_task_id(
    user: User, task: dict[str, Any], method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    before = _listing(user)

    response = call(method, user.task_path(BIGINT_MAX, suffix), token=user.token, json_body=body)

    _assert_refused(response, 404)
    assert _listing(user) == before


# --- List query parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "abc"},
        {"limit": -1},
        {"limit": "9" * 5000},
        {"offset": -1},
        {"offset": 10**30},
        {"offset": BIGINT_MAX + 1},
        {"offset": "abc"},
        {"status": "done"},
        {"status": ""},
        {"sort": "password"},
        {"sort": "user_id"},
        {"sort": "title; DROP TABLE tasks"},
        {"order": "sideways"},
        {"q": "\x00"},
        {"q": "abc\x00def"},
    ],
    ids=lambda query: "-".join(f"{k}={v!r}"[:30] for k, v in query.items()),
)
def test_list_tasks_refuses_invalid_query_parameters(user: User, task: dict[str, Any], query: dict[str, Any]) -> None:
    response = user.list_tasks(**query)

    _assert_refused(response, 422)
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(query))]
    assert _listing(user) == ([task], "1")


def test_list_tasks_accepts_the_largest_offset(user: User, task: dict[str, Any]) -> None:
    response = user.list_tasks(offset=BIGINT_MAX, limit=500)

    assert response.status == 200, response.body
    assert response.json() == []
    assert response.headers["x-total-count"] == "1"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("%", ["100% done"]),
        ("_", ["snake_case"]),
        ("\\", ["back\\slash"]),
        ("0%", ["100% done"]),
        ("e_c", ["snake_case"]),
    ],
)
def test_list_tasks_matches_like_wildcards_literally(user: User, q: str, expected: list[str]) -> None:
    for title in ["100% done", "snake_case", "back\\slash", "plain"]:
        user.create_task(title)

    response = user.list_tasks(q=q)

    assert response.status == 200, response.body
    assert [t["title"] for t in response.json()] == expected
    assert response.headers["x-total-count"] == str(len(expected))


# --- Error bodies do not echo the input -------------------------------------------------------------

MARKER = "ECHO-MARKER-7f3a"


@pytest.mark.parametrize(
    ("method", "suffix", "kwargs"),
    [
        pytest.param("POST", "", {"json_body": {"title": "Z" * 300 + MARKER}}, id="title-too-long"),
        pytest.param(
            "POST", "", {"json_body": {"title": "ok", "description": "d" * 1001 + MARKER}}, id="description-too-long"
        ),
        pytest.param("POST", "", {"json_body": {"title": "ok", "completed": MARKER}}, id="completed-string"),
        pytest.param("POST", "", {"json_body": {"title": MARKER + "\x00"}}, id="title-nul"),
        pytest.param("POST", "", {"body": '{"title": "' + MARKER + "\\ud800" + '"}', "headers": JSON}, id="surrogate"),
        pytest.param("POST", "", {"body": '{"title": "' + MARKER, "headers": JSON}, id="malformed-json"),
        pytest.param("GET", "", {"query": {"status": MARKER}}, id="status"),
        pytest.param("GET", "", {"query": {"sort": MARKER}}, id="sort"),
        pytest.param("GET", "", {"query": {"limit": MARKER}}, id="limit"),
        pytest.param("GET", "", {"query": {"q": MARKER + "\x00"}}, id="q-nul"),
        pytest.param("GET", f"/{MARKER}", {}, id="task-id"),
        pytest.param("PATCH", "/1", {"json_body": {"title": "Z" * 300 + MARKER}}, id="patch-title-too-long"),
    ],
)
def test_validation_error_does_not_echo_the_input(user: User, method: str, suffix: str, kwargs: dict[str, Any]) -> None:
    response = call(method, f"{user.tasks_path}{suffix}", token=user.token, **kwargs)

    _assert_refused(response, 422)
    assert MARKER not in response.body
    assert "ZZZZ" not in response.body
    assert all(set(error) == {"type", "loc", "msg"} for error in response.json()["detail"])
