"""Keyset (cursor) pagination of the task list: `Link: <…>; rel="next"` walks every task once, in
the list's order, for every sort and order, ties and tasks without a key included; a cursor is
refused with another query, or when it is not one the API made; each page is one round trip."""

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
import pytest

from localdev.events import Response, call
from localdev.pgproxy import CountingProxy
from support.auth import hs256_token
from support.mcp_messages import call_tool
from support.users import User

SORTS = ["created_at", "updated_at", "title", "id", "due", "priority"]


def next_link(response: Response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert match, link
    return match.group(1)


def walk(user: User, query: dict[str, Any]) -> tuple[list[int], list[str]]:
    """Every page by following the Link header: the ids in order, and each page's X-Total-Count."""
    response = user.list_tasks(**query)
    ids, totals = [], []
    while True:
        assert response.status == 200, response.body
        ids += [task["id"] for task in response.json()]
        totals.append(response.headers["x-total-count"])
        link = next_link(response)
        if link is None:
            return ids, totals
        path, query_string = unquote(urlsplit(link).path), urlsplit(link).query
        assert path == user.tasks_path
        pairs = parse_qsl(query_string)
        following: dict[str, Any] = {}
        for name, value in pairs:  # repeated parameters (tag, priority) stay lists
            following.setdefault(name, []).append(value)
        response = call("GET", path, token=user.token, query=following)


@pytest.fixture
def varied(user: User, db: psycopg.Connection[Any]) -> User:
    """23 tasks with equal timestamps in threes, equal titles in pairs, some without due or priority."""
    for n in range(23):
        due: dict[str, Any] = {}
        if n % 3 == 0:
            due = {"due_date": f"2026-12-{n % 9 + 1:02d}"}
        elif n % 3 == 1:
            due = {"due_at": f"2026-12-{n % 9 + 1:02d}T10:00:00Z"}
        priority = ["low", "medium", "high", None][n % 4]
        user.create_task(f"task {n % 12}", priority=priority, tags=["work"] if n % 2 else [], **due)
    # Ties: the same created_at (and updated_at) for every three tasks.
    db.execute(
        "UPDATE tasks SET created_at = timestamptz '2026-01-01' + (id / 3) * interval '1 second',"
        " updated_at = timestamptz '2026-02-01' + (id / 3) * interval '1 second' WHERE user_id = %s",
        (user.id,),
    )
    return user


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", SORTS)
def test_walking_by_cursor_returns_every_task_once_in_order(varied: User, sort: str, order: str) -> None:
    whole = varied.list_tasks(sort=sort, order=order, limit=500)

    ids, totals = walk(varied, {"sort": sort, "order": order, "limit": 4})

    assert ids == [task["id"] for task in whole.json()]
    assert len(ids) == 23
    assert set(totals) == {"23"}


def test_filters_carry_over_to_every_page(varied: User) -> None:
    query = {"tag": ["work"], "priority": ["medium", "high"], "sort": "due", "order": "asc"}
    whole = varied.list_tasks(**query).json()

    ids, totals = walk(varied, {**query, "limit": 2})

    assert ids == [task["id"] for task in whole]
    assert len(ids) > 2
    assert set(totals) == {str(len(whole))}


def test_the_last_page_has_no_next_link(user: User) -> None:
    user.create_task("only")

    response = user.list_tasks(limit=1)

    assert next_link(response) is None


def test_changes_between_pages_neither_repeat_nor_skip_the_others(user: User) -> None:
    created = [user.create_task(f"t{n}") for n in range(6)]
    first = user.list_tasks(sort="id", order="asc", limit=3)
    link = next_link(first)
    assert link is not None
    call("DELETE", user.task_path(created[1]["id"]), token=user.token)  # on the page already seen
    user.create_task("new")  # after the cursor

    second = call("GET", urlsplit(link).path, token=user.token, query=dict(parse_qsl(urlsplit(link).query)))

    assert [task["id"] for task in first.json()] == [task["id"] for task in created[:3]]
    assert [task["title"] for task in second.json()] == ["t3", "t4", "t5"]


def _cursor_for(user: User, query: dict[str, Any]) -> str:
    link = next_link(user.list_tasks(**query, limit=1))
    assert link is not None
    return dict(parse_qsl(urlsplit(link).query))["cursor"]


@pytest.mark.parametrize(
    "other",
    [{"sort": "title"}, {"order": "asc"}, {"status": "pending"}, {"tag": ["work"]}, {"q": "task"}],
    ids=["sort", "order", "status", "tag", "search"],
)
def test_a_cursor_is_refused_with_another_query(varied: User, other: dict[str, Any]) -> None:
    cursor = _cursor_for(varied, {})

    response = varied.list_tasks(**other, cursor=cursor)

    assert response.status == 400
    assert "other filters" in response.json()["detail"]


def _b64(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !!",
        "AAAA",
        _b64({"a": 1}),
        _b64([1, 2]),
        _b64(["2026-01-01T00:00:00+00:00", "7", "bound"]),
        _b64([None, 10**30, "x"]),
        _b64([None, True, "x"]),
        _b64([None, 0, "x"]),
        "x" * 601,
        "\x00",
        _b64(["\ud800", 1, "x"]),
    ],
    ids=[
        "not-base64",
        "not-json",
        "object",
        "two-items",
        "id-as-text",
        "huge-id",
        "id-as-bool",
        "id-zero",
        "too-long",
        "nul",
        "surrogate",
    ],
)
def test_a_cursor_the_api_did_not_make_is_a_4xx(user: User, cursor: str) -> None:
    response = user.list_tasks(cursor=cursor)

    assert response.status in (400, 422), response.body
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("created_at", "yesterday"),
        ("created_at", 5),
        ("created_at", "2026-01-01T00:00:00"),  # no offset
        ("title", "bad\x00title"),
        ("title", 7),
        ("id", "7"),
        ("priority", 10**30),
        ("priority", 2**31),  # past the rank's integer, within a bigint
        ("priority", -(2**31) - 1),
        ("id", 2**63),
    ],
)
def test_a_forged_key_of_the_wrong_kind_is_refused(varied: User, sort: str, key: Any) -> None:
    real = _cursor_for(varied, {"sort": sort})
    _, task_id, bound = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))

    response = varied.list_tasks(sort=sort, cursor=_b64([key, task_id, bound]))

    assert response.status == 400


def test_a_cursor_with_an_offset_is_refused(varied: User) -> None:
    cursor = _cursor_for(varied, {})

    response = varied.list_tasks(cursor=cursor, offset=5)

    assert (response.status, response.json()["detail"]) == (400, "give cursor or offset, not both")


def test_a_cursor_never_reaches_another_users_tasks(varied: User, other_user: User) -> None:
    cursor = _cursor_for(varied, {})

    response = other_user.list_tasks(cursor=cursor)

    assert (response.status, response.json()) == (200, [])


def test_each_page_is_one_round_trip(varied: User, proxy: CountingProxy) -> None:
    cursor = _cursor_for(varied, {"sort": "due"})
    proxy.reset()

    response = varied.list_tasks(sort="due", limit=1, cursor=cursor)

    assert response.status == 200
    assert len(proxy.round_trips) == 1


def test_the_list_documents_the_cursor_and_the_link_header() -> None:
    from tasks_api.app import app

    operation = app.openapi()["paths"]["/api/{user_id}/tasks"]["get"]

    assert "cursor" in {parameter["name"] for parameter in operation["parameters"]}
    assert {"Link", "X-Total-Count"} <= set(operation["responses"]["200"]["headers"])
    assert "400" in operation["responses"]


def test_list_tasks_tool_continues_with_next_cursor(user: User) -> None:
    for n in range(105):
        call_tool(user.token, "add_task", {"title": f"t{n}"})

    first = call_tool(user.token, "list_tasks", {})["structuredContent"]
    second = call_tool(user.token, "list_tasks", {"cursor": first["next_cursor"]})["structuredContent"]

    assert (len(first["tasks"]), first["total"]) == (100, 105)
    assert [task["title"] for task in second["tasks"]] == [f"t{n}" for n in range(100, 105)]
    assert second["next_cursor"] is None
    refused = call_tool(user.token, "list_tasks", {"cursor": first["next_cursor"], "status": "pending"})
    assert refused["isError"] is True


@pytest.mark.parametrize("prefix", ["日本", "a?b#c\\d"], ids=["non-latin", "url-syntax"])
def test_the_link_of_any_user_id_is_ascii_and_leads_on(user: User, prefix: str) -> None:
    user.id = f"{prefix}-{user.id}"  # user ids are any text a token's sub may carry
    user.token = hs256_token(user.id)
    created = [user.create_task(f"t{n}")["id"] for n in range(3)]

    response = user.list_tasks(limit=1)
    link = next_link(response)

    assert response.status == 200
    assert link is not None
    assert link.isascii()
    assert unquote(urlsplit(link).path) == user.tasks_path
    assert walk(user, {"limit": 1, "order": "asc"})[0] == created
