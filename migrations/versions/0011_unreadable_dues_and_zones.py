"""Clear what the API once accepted but cannot read back, which made every list of its user fail.

- Due days and instants so near year 1 or 9999 that a zone's offset or the day a due day lasts takes
  them past what a Python datetime holds (the API now takes the years 1000 to 9998 only).
- Time zones that Python found in the system's zone files and Postgres does not know (`right/UTC`,
  `localtime`): the user is on UTC again, as before they chose one.

A cleared task counts as changed (its version and updated_at move on). Nothing to undo.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE tasks SET
            due_date = CASE WHEN due_date BETWEEN '0001-01-02' AND '9999-12-30' THEN due_date END,
            due_at = CASE WHEN due_at BETWEEN '0001-01-02 00:00+00' AND '9999-12-30 00:00+00' THEN due_at END,
            version = version + 1,
            updated_at = now()
        WHERE due_date NOT BETWEEN '0001-01-02' AND '9999-12-30'
           OR due_at NOT BETWEEN '0001-01-02 00:00+00' AND '9999-12-30 00:00+00'
        """
    )
    # NOT IN: the zone names are read once (a hashed subplan), not once per user.
    op.execute("DELETE FROM user_preferences WHERE timezone NOT IN (SELECT name FROM pg_timezone_names)")


def downgrade() -> None:
    pass
