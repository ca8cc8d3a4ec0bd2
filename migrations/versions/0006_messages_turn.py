"""Messages: the turn each tool call and reply belongs to (the id of its user message).

Two messages sent to one conversation at once have their turns interleaved in id order; the turn id
keeps each reply with its question. Nullable, no default: added without a table rewrite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("turn_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "turn_id")
