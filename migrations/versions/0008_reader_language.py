"""Readers' languages: the one their messages go out in, and whether they chose it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for readers from before: their next update fills it in; meanwhile English.
    op.add_column("users", sa.Column("language", sa.String(8), nullable=True))
    op.add_column(
        "users",
        sa.Column("language_chosen", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "language_chosen")
    op.drop_column("users", "language")
