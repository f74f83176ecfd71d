"""Readers who can't be reached: users.chat_id indexed, failed messages flagged for redelivery.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_users_chat_id", "users", ["chat_id"])
    op.add_column(
        "notifications",
        sa.Column("reader_unreachable", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    # Messages refused before this revision, as its mark_failed recorded them (403, or
    # 400 "chat not found"): sent again if their readers come back.
    op.execute(
        "UPDATE notifications SET reader_unreachable = true WHERE status = 'failed' "
        "AND (last_error LIKE 'Forbidden%' OR lower(last_error) LIKE '%chat not found%')"
    )


def downgrade() -> None:
    op.drop_column("notifications", "reader_unreachable")
    op.drop_index("ix_users_chat_id", table_name="users")
