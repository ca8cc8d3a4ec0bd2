"""Tasks: indexes on the due day and the due instant of each user's pending tasks.

`overdue=true` reads them (one bitmap scan each, OR-ed) instead of every task of the user; for a
user with 100,000 tasks that makes the overdue list several times faster.
Partial (pending, dated tasks only), so they stay small. Built concurrently: writes go on meanwhile.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_tasks_pending_due_date": "due_date",
    "ix_tasks_pending_due_at": "due_at",
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, column in INDEXES.items():
            op.create_index(
                name,
                "tasks",
                ["user_id", column],
                postgresql_where=sa.text(f"completed IS FALSE AND {column} IS NOT NULL"),
                postgresql_concurrently=True,
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.drop_index(name, table_name="tasks", postgresql_concurrently=True)
