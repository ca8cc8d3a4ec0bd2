"""Tasks: a version that every change increments (the ETag of `If-Match` / `If-None-Match`).

A constant default adds the column without rewriting the table (Postgres 11+ keeps it in the
catalogue), so this is quick on a large table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("version", sa.BigInteger(), server_default=sa.text("1"), nullable=False))


def downgrade() -> None:
    op.drop_column("tasks", "version")
