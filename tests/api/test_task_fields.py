"""Due dates, priorities and tags on tasks, through the tasks function's Lambda handler."""

from typing import Any

import psycopg
import pytest

from localdev.events import Response, call
from support.users import User


def create(user: User, **fields: Any) -> Response:
    return call("POST", user.tasks_path, token=user.token, json_body={"title": "t", **fields})


def patch(user: User, task_id: int, **fields: Any) -> Response:
    return call("PATCH", user.task_path(task_id), token=user.token, json_body=fields)


def test_a_task_without_the_new_fields_looks_as_before_plus_empty_ones(user: User) -> None:
    task = create(user).json()

    assert (task["due_date"], task["due_at"], task["priority"], task["tags"]) == (None, None, None, [])
    assert {"id", "user_id", "title", "description", "completed", "created_at", "updated_at"} <= set(task)


def test_a_due_day_priority_and_tags_are_stored(user: User) -> None:
    created = create(user, due_date="2026-11-24", priority="high", tags=[" Work ", "home", "WORK"])

    assert created.status == 201
    task = created.json()
    assert (task["due_date"], task["due_at"], task["priority"]) == ("2026-11-24", None, "high")
    assert task["tags"] == ["work", "home"]  # trimmed, without case, each once, in order
    assert user.get_task(task["id"]) == task


def test_a_due_instant_is_kept_as_an_instant_and_answered_in_utc(user: User) -> None:
    task = create(user, due_at="2026-11-24T17:00:00+01:00").json()

    assert (task["due_at"], task["due_date"]) == ("2026-11-24T16:00:00Z", None)


@pytest.mark.parametrize(
    "fields",
    [
        {"due_date": "2026-11-24", "due_at": "2026-11-24T17:00:00Z"},
        {"due_at": "2026-11-24T17:00:00"},  # no offset: which instant?
        {"due_date": "2026-02-30"},
        {"due_date": "tomorrow"},
        {"due_date": 20261124},
        {"due_at": 0},
        {"due_at": "1700000000"},
        {"priority": "urgent"},
        {"priority": 3},
        {"tags": [f"t{n}" for n in range(21)]},
        {"tags": ["x" * 41]},
        {"tags": ["   "]},
        {"tags": ["tab\there"]},
        {"tags": ["nul\x00"]},
        {"tags": "work"},
        {"tags": None},
        {"due_date": "9999-12-31"},
        {"due_date": "0999-12-31"},
        {"due_at": "9999-12-31T23:59:59-14:00"},
        {"due_at": "0001-01-01T00:00:00+14:00"},
        {"tags": ["İ" * 40]},
    ],
    ids=[
        "both-dues",
        "instant-without-offset",
        "no-such-day",
        "not-a-date",
        "number-as-date",
        "number-as-instant",
        "numeric-text-as-instant",
        "unknown-priority",
        "numeric-priority",
        "21-tags",
        "41-character-tag",
        "blank-tag",
        "control-character-tag",
        "nul-tag",
        "tags-not-a-list",
        "tags-null",
        "day-after-9998",
        "day-before-1000",
        "instant-after-9998",
        "instant-before-1000",
        "tag-longer-once-lower-cased",
    ],
)
def test_invalid_fields_are_refused_and_nothing_is_created(
    user: User, db: psycopg.Connection[Any], fields: dict[str, Any]
) -> None:
    response = create(user, **fields)

    assert response.status == 422, response.body
    assert db.execute("SELECT count(*) FROM tasks WHERE user_id = %s", (user.id,)).fetchone() == (0,)


def test_twenty_tags_of_forty_characters_are_fine(user: User) -> None:
    tags = [f"{n:02d}" + "x" * 38 for n in range(20)]

    assert create(user, tags=tags).json()["tags"] == tags


def test_patch_sets_and_clears_each_field(user: User) -> None:
    task_id = user.create_task(due_at="2026-11-24T17:00:00Z", priority="low", tags=["a"])["id"]

    to_a_day = patch(user, task_id, due_date="2026-12-01").json()
    to_an_instant = patch(user, task_id, due_at="2026-12-02T09:30:00-05:00").json()
    cleared = patch(user, task_id, due_at=None, priority=None, tags=[]).json()

    assert (to_a_day["due_date"], to_a_day["due_at"]) == ("2026-12-01", None)  # a day replaces the instant
    assert (to_an_instant["due_date"], to_an_instant["due_at"]) == (None, "2026-12-02T14:30:00Z")
    assert (cleared["due_at"], cleared["priority"], cleared["tags"]) == (None, None, [])
    assert (to_a_day["priority"], to_a_day["tags"]) == ("low", ["a"])  # what was not sent stayed


def test_the_outermost_due_days_and_instants_are_stored_and_listed(user: User) -> None:
    """Shifted by a zone's offset or by the day a due day lasts, they still read back (Python's
    datetime ends at 9999): stored, listed, sorted and filtered, in the zones farthest apart."""
    edges = [
        user.create_task(due_date="9998-12-31"),
        user.create_task(due_at="9998-12-31T23:59:59-12:00"),
        user.create_task(due_date="1000-01-01"),
        user.create_task(due_at="1000-01-01T00:00:00+14:00"),
    ]
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        assert call("PUT", user.preferences_path, token=user.token, json_body={"timezone": zone}).status == 200
        for query in ({"sort": "due"}, {"due_before": "9998-12-31", "due_after": "1000-01-01"}, {"overdue": "true"}):
            assert user.list_tasks(**query).status == 200, (zone, query)

    assert {task["id"] for task in user.list_tasks(sort="due").json()} == {task["id"] for task in edges}


@pytest.mark.parametrize("query", [{"due_before": "9999-12-31"}, {"due_after": "0001-01-01"}])
def test_a_due_filter_beyond_the_years_kept_is_refused(user: User, query: dict[str, str]) -> None:
    response = user.list_tasks(**query)

    assert response.status == 422
    assert "must be in the years 1000 to 9998" in response.body


def test_an_unreadable_date_is_refused_without_being_repeated(user: User) -> None:
    response = create(user, due_date="x" * 100_000)

    assert response.status == 422
    assert len(response.body) < 1000


@pytest.mark.parametrize(
    "fields",
    [
        {"tags": None},
        {"due_date": "2026-12-01", "due_at": "2026-12-01T10:00:00Z"},
        {"priority": "later"},
        {"due_at": "9999-12-31T23:59:59-14:00"},
    ],
    ids=["tags-null", "both-dues", "unknown-priority", "instant-after-9998"],
)
def test_an_invalid_patch_changes_nothing(user: User, fields: dict[str, Any]) -> None:
    before = user.create_task(due_date="2026-11-24", priority="medium", tags=["keep"])

    response = patch(user, before["id"], **fields)

    assert response.status == 422
    assert user.get_task(before["id"]) == before


def test_put_replaces_the_whole_task_new_fields_included(user: User) -> None:
    task_id = user.create_task(due_date="2026-11-24", priority="high", tags=["x"])["id"]

    replaced = call("PUT", user.task_path(task_id), token=user.token, json_body={"title": "fresh"}).json()

    assert (replaced["due_date"], replaced["priority"], replaced["tags"]) == (None, None, [])


def test_a_keyed_create_replays_the_new_fields_as_first_answered(user: User) -> None:
    body = {"title": "t", "due_at": "2026-11-24T17:00:00+01:00", "priority": "high", "tags": ["Work"]}
    headers = {"Idempotency-Key": "fields"}

    first = call("POST", user.tasks_path, token=user.token, json_body=body, headers=headers)
    replay = call("POST", user.tasks_path, token=user.token, json_body=body, headers=headers)

    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()


def test_the_database_refuses_two_dues_whatever_the_code(user: User, db: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO tasks (user_id, title, due_date, due_at) VALUES (%s, 't', '2026-11-24', now())", (user.id,)
        )
