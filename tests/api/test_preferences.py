"""A user's time zone preference: GET and PUT /api/{user_id}/preferences, through the handler."""

from typing import Any

import psycopg
import pytest
from sqlmodel import Session

from localdev.events import call
from localdev.pgproxy import CountingProxy
from support.users import User
from todo_common import preferences
from todo_common.db import get_engine


def test_a_user_without_a_preference_is_on_utc(user: User) -> None:
    response = call("GET", user.preferences_path, token=user.token)

    assert (response.status, response.json()) == (200, {"timezone": "UTC"})


def test_a_time_zone_is_stored_and_can_change(user: User) -> None:
    first = call("PUT", user.preferences_path, token=user.token, json_body={"timezone": "Europe/Berlin"})
    second = call("PUT", user.preferences_path, token=user.token, json_body={"timezone": "Pacific/Kiritimati"})

    assert first.json() == {"timezone": "Europe/Berlin"}
    assert second.json() == {"timezone": "Pacific/Kiritimati"}
    assert call("GET", user.preferences_path, token=user.token).json() == {"timezone": "Pacific/Kiritimati"}


@pytest.mark.parametrize(
    "timezone",
    ["Mars/Olympus_Mons", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "", "UTC+3", "x" * 65, "Europe/Berlin\x00", 5],
    ids=["unknown", "path-traversal", "absolute-path", "empty", "offset", "too-long", "nul", "number"],
)
def test_a_name_that_is_not_an_iana_zone_is_refused(user: User, db: psycopg.Connection[Any], timezone: Any) -> None:
    response = call("PUT", user.preferences_path, token=user.token, json_body={"timezone": timezone})

    assert response.status == 422
    assert db.execute("SELECT count(*) FROM user_preferences WHERE user_id = %s", (user.id,)).fetchone() == (0,)


@pytest.mark.parametrize("timezone", ["right/UTC", "posix/Europe/Berlin", "posixrules", "localtime"])
def test_a_zone_file_postgres_does_not_know_is_refused_and_lists_still_work(
    user: User, db: psycopg.Connection[Any], timezone: str
) -> None:
    """Python may load these from the system's zone files (whether it does depends on the
    machine); Postgres knows none of them, and every date query of the user's evaluates the zone there."""
    response = call("PUT", user.preferences_path, token=user.token, json_body={"timezone": timezone})

    assert response.status == 422
    assert response.json()["detail"][0]["loc"] == ["body", "timezone"]
    assert db.execute("SELECT count(*) FROM user_preferences WHERE user_id = %s", (user.id,)).fetchone() == (0,)
    assert user.list_tasks(overdue="true").status == 200


def test_postgres_checks_the_zone_as_it_stores_it(user: User) -> None:
    with Session(get_engine()) as session:
        with pytest.raises(preferences.UnknownTimeZone):
            preferences.set_timezone(session, user.id, "right/UTC")  # past any check Python makes
        assert preferences.set_timezone(session, user.id, "Europe/Berlin") == "Europe/Berlin"


def test_reading_or_setting_the_preference_is_one_round_trip(user: User, proxy: CountingProxy) -> None:
    call("GET", "/health")  # the pooled connection is open and warm
    proxy.reset()
    call("PUT", user.preferences_path, token=user.token, json_body={"timezone": "Asia/Tokyo"})
    written = len(proxy.round_trips)
    proxy.reset()
    call("GET", user.preferences_path, token=user.token)

    assert (written, len(proxy.round_trips)) == (1, 1)
