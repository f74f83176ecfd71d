"""Updates received through the webhook, so that a retry reaching another process is
recognised.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("update_id", name="pk_webhook_updates"),
    )
    op.create_index("ix_webhook_updates_received_at", "webhook_updates", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_updates_received_at", table_name="webhook_updates")
    op.drop_table("webhook_updates")
