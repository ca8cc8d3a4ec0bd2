"""Tasks: a due day or instant, a priority and tags.

Nullable columns and a constant default add no table rewrite; the tags' GIN index is built
concurrently (writes go on meanwhile), so this is safe on a large table. The checks are added
NOT VALID and then validated, which scans the table without blocking writes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("due_date", sa.Date(), nullable=True))
    op.add_column("tasks", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("priority", sa.Text(), nullable=True))
    op.add_column(
        "tasks",
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    )
    op.execute("ALTER TABLE tasks ADD CONSTRAINT ck_tasks_one_due CHECK (due_date IS NULL OR due_at IS NULL) NOT VALID")
    op.execute(
        "ALTER TABLE tasks ADD CONSTRAINT ck_tasks_priority CHECK (priority IN ('low', 'medium', 'high')) NOT VALID"
    )
    op.execute("ALTER TABLE tasks VALIDATE CONSTRAINT ck_tasks_one_due")
    op.execute("ALTER TABLE tasks VALIDATE CONSTRAINT ck_tasks_priority")
    with op.get_context().autocommit_block():
        op.create_index("ix_tasks_tags", "tasks", ["tags"], postgresql_using="gin", postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_tasks_tags", table_name="tasks", postgresql_concurrently=True)
    for column in ("tags", "priority", "due_at", "due_date"):
        op.drop_column("tasks", column)
