"""List filters and sorts on due dates, priorities and tags, evaluated in each user's time zone:
UTC-12 and UTC+14, a DST change day, a date-only deadline seen from both sides of the date line."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localdev.events import call
from localdev.pgproxy import CountingProxy
from support.users import User

KIRITIMATI = "Pacific/Kiritimati"  # UTC+14
BAKER_ISLAND = "Etc/GMT+12"  # UTC-12 (the sign is POSIX's)


def set_zone(user: User, zone: str) -> None:
    response = call("PUT", user.preferences_path, token=user.token, json_body={"timezone": zone})
    assert response.status == 200


def titles(user: User, **query: Any) -> list[str]:
    response = user.list_tasks(**query)
    assert response.status == 200, response.body
    return [task["title"] for task in response.json()]


def today_in(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def test_a_due_day_is_overdue_on_one_side_of_the_date_line_and_not_on_the_other(user: User, other_user: User) -> None:
    # Kiritimati is 26 hours ahead of Baker Island: Baker Island's today is already past there.
    set_zone(user, KIRITIMATI)
    set_zone(other_user, BAKER_ISLAND)
    deadline = today_in(BAKER_ISLAND).isoformat()
    user.create_task("call mom", due_date=deadline)
    other_user.create_task("call mom", due_date=deadline)

    assert titles(user, overdue="true") == ["call mom"]
    assert titles(other_user, overdue="true") == []


def test_overdue_counts_instants_against_now_and_leaves_out_completed_and_undated(user: User) -> None:
    set_zone(user, KIRITIMATI)
    user.create_task("an hour ago", due_at=(datetime.now(ZoneInfo("UTC")) - timedelta(hours=1)).isoformat())
    user.create_task("in an hour", due_at=(datetime.now(ZoneInfo("UTC")) + timedelta(hours=1)).isoformat())
    user.create_task("yesterday", due_date=(today_in(KIRITIMATI) - timedelta(days=1)).isoformat())
    user.create_task("today", due_date=today_in(KIRITIMATI).isoformat())
    done = user.create_task("done yesterday", due_date=(today_in(KIRITIMATI) - timedelta(days=1)).isoformat())["id"]
    call("PATCH", user.task_path(done, "/complete"), token=user.token, json_body={"completed": True})
    user.create_task("someday")

    assert sorted(titles(user, overdue="true")) == ["an hour ago", "yesterday"]


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # 2026-03-29 is the day Berlin moves to summer time: it lasts 23 hours, 23:00Z to 22:00Z.
        ("Europe/Berlin", ["00:30 Berlin", "23:30 Berlin"]),
        ("UTC", ["23:30 Berlin", "23:59 UTC"]),
    ],
)
def test_due_day_bounds_are_days_of_the_users_zone_dst_day_included(user: User, zone: str, expected: list[str]) -> None:
    set_zone(user, zone)
    user.create_task("00:30 Berlin", due_at="2026-03-29T00:30:00+01:00")  # 2026-03-28 23:30 UTC
    user.create_task("23:30 Berlin", due_at="2026-03-29T23:30:00+02:00")  # 2026-03-29 21:30 UTC
    user.create_task("23:59 UTC", due_at="2026-03-29T23:59:00Z")  # already the 30th in Berlin
    user.create_task("the day itself", due_date="2026-03-30")

    found = titles(user, due_after="2026-03-29", due_before="2026-03-29", sort="due", order="asc")

    assert found == expected


def test_due_bounds_take_date_only_deadlines_as_they_are(user: User) -> None:
    set_zone(user, KIRITIMATI)
    for day in ("2026-05-01", "2026-05-02", "2026-05-03"):
        user.create_task(day, due_date=day)

    assert titles(user, due_after="2026-05-02", sort="due", order="asc") == ["2026-05-02", "2026-05-03"]
    assert titles(user, due_before="2026-05-02", sort="due", order="asc") == ["2026-05-01", "2026-05-02"]


def test_sort_by_due_puts_days_and_instants_together_and_undated_last(user: User) -> None:
    set_zone(user, "America/New_York")
    user.create_task("undated")
    user.create_task("June 2 noon", due_at="2026-06-02T12:00:00-04:00")
    user.create_task("June 1 (all day)", due_date="2026-06-01")  # ends at June 2 00:00 in New York
    user.create_task("June 1 9am", due_at="2026-06-01T09:00:00-04:00")

    assert titles(user, sort="due", order="asc") == ["June 1 9am", "June 1 (all day)", "June 2 noon", "undated"]
    assert titles(user, sort="due", order="desc") == ["June 2 noon", "June 1 (all day)", "June 1 9am", "undated"]


def test_sort_by_priority_puts_high_first_and_none_last(user: User) -> None:
    for title, priority in [("none", None), ("low", "low"), ("high", "high"), ("medium", "medium")]:
        user.create_task(title, priority=priority)

    assert titles(user, sort="priority") == ["high", "medium", "low", "none"]


def test_priority_and_tag_filters(user: User) -> None:
    user.create_task("a", priority="high", tags=["work", "urgent"])
    user.create_task("b", priority="low", tags=["work"])
    user.create_task("c", priority="medium", tags=["home", "urgent"])
    user.create_task("d")

    assert sorted(titles(user, priority=["high", "medium"])) == ["a", "c"]
    assert sorted(titles(user, tag=["urgent"])) == ["a", "c"]
    assert titles(user, tag=["Work", "URGENT"]) == ["a"]  # all of them, without case
    assert titles(user, tag=["nothing"]) == []


@pytest.mark.parametrize(
    "query",
    [
        {"due_after": "2026-02-30"},
        {"due_before": "soon"},
        {"overdue": "maybe"},
        {"priority": "urgent"},
        {"tag": "x" * 41},
        {"sort": "deadline"},
    ],
)
def test_bad_filters_are_422(user: User, query: dict[str, Any]) -> None:
    response = user.list_tasks(**query)

    assert response.status == 422


def test_the_filtered_and_zoned_list_is_still_one_round_trip(user: User, proxy: CountingProxy) -> None:
    set_zone(user, KIRITIMATI)
    user.create_task("x", due_date="2026-01-01", tags=["a"], priority="high")
    proxy.reset()

    response = user.list_tasks(overdue="true", due_after="2025-12-01", tag="a", priority="high", sort="due")

    assert response.headers["x-total-count"] == "1"
    assert len(proxy.round_trips) == 1
