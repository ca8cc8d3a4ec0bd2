"""Validation as properties (Hypothesis), through the tasks function's Lambda handler: for any text,
a task is created exactly when the rules allow it, stored exactly as the rules say, and anything else
is a 422 that stores nothing. Never a 5xx."""

import unicodedata
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from localdev.events import call
from support.users import User
from todo_common.models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH

# Text as people and hostile clients send it: combining marks, emoji, right-to-left scripts, control
# characters (NUL among them), lone surrogates (sent as JSON escapes), and all kinds of whitespace.
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
TRICKY = st.sampled_from(
    ["\u0301", "\U0001f600", "\u200f", "\u05d0", "\u0627", "\x00", "\x07", "\ud800", "\udfff", "\u2028", "\u00a0", "\t"]
)
TEXT = st.text(st.one_of(ANY_CHARACTER, TRICKY), max_size=TITLE_MAX_LENGTH + 20)
LONG_TEXT = st.text(st.one_of(ANY_CHARACTER, TRICKY), min_size=DESCRIPTION_MAX_LENGTH - 5, max_size=1010)
PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# Unicode's White_Space characters: what a title is trimmed of (str.strip() also takes U+001C to U+001F).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))


def storable(text: str) -> bool:
    """Postgres stores no NUL and no lone surrogate (text must be valid UTF-8)."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


def title_rule(title: str) -> str | None:
    """The title the API stores for this input, or None when it refuses it."""
    trimmed = title.strip(WHITE_SPACE)
    one_line = not any(unicodedata.category(c) == "Cc" for c in trimmed)
    return trimmed if 1 <= len(trimmed) <= TITLE_MAX_LENGTH and storable(title) and one_line else None


def create(user: User, body: dict[str, Any]) -> Any:
    response = call("POST", user.tasks_path, token=user.token, json_body=body)
    assert response.status < 500, response.body
    return response


@PROPERTIES
@given(title=TEXT)
@example(title=" " * 5)
@example(title="x" * TITLE_MAX_LENGTH)
@example(title=" " + "x" * TITLE_MAX_LENGTH + " ")
@example(title="x" * (TITLE_MAX_LENGTH + 1))
@example(title="e\u0301" * 100)  # 200 code points that look like 100 letters
def test_a_title_is_taken_exactly_when_the_rules_allow_it(user: User, title: str) -> None:
    expected = title_rule(title)

    response = create(user, {"title": title})

    if expected is not None:
        assert response.status == 201, response.body
        assert response.json()["title"] == expected
        assert user.get_task(response.json()["id"])["title"] == expected  # stored as it was answered
    else:
        assert response.status == 422
        assert set(response.json()) == {"detail"}


@PROPERTIES
@given(description=st.one_of(TEXT, LONG_TEXT))
@example(description="")
@example(description="d" * DESCRIPTION_MAX_LENGTH)
@example(description="d" * (DESCRIPTION_MAX_LENGTH + 1))
def test_a_description_is_taken_exactly_when_the_rules_allow_it(user: User, description: str) -> None:
    allowed = len(description) <= DESCRIPTION_MAX_LENGTH and storable(description)

    response = create(user, {"title": "described", "description": description})

    assert response.status == (201 if allowed else 422), response.body
    if allowed:
        assert response.json()["description"] == description  # descriptions are kept as sent


@PROPERTIES
@given(title=TEXT, completed=st.one_of(st.booleans(), st.none(), st.integers(), st.text(max_size=5)))
def test_a_patch_changes_a_task_only_when_valid_and_never_half_way(user: User, title: str, completed: Any) -> None:
    task = user.create_task("before")
    valid = title_rule(title) is not None and isinstance(completed, bool)

    response = call(
        "PATCH",
        user.task_path(task["id"]),
        token=user.token,
        json_body={"title": title, "completed": completed},
    )
    after = user.get_task(task["id"])

    assert response.status == (200 if valid else 422), response.body
    if valid:
        assert (after["title"], after["completed"]) == (title_rule(title), completed)
    else:
        assert (after["title"], after["completed"], after["version"]) == ("before", False, 1)
