"""Restock log and the notification outbox; readers that can't be reached.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

notification_status = postgresql.ENUM(
    "pending", "sent", "failed", name="notification_status", create_type=False
)


def upgrade() -> None:
    op.add_column("users", sa.Column("unreachable_at", sa.DateTime(timezone=True)))
    op.create_table(
        "restocks",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("old_stock", sa.Integer(), nullable=False),
        sa.Column("new_stock", sa.Integer(), nullable=False),
        sa.Column("admin_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], name="fk_restocks_book_id_books"),
        sa.PrimaryKeyConstraint("id", name="pk_restocks"),
    )
    op.create_index("ix_restocks_book_id", "restocks", ["book_id"])
    notification_status.create(op.get_bind())
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("restock_id", sa.BigInteger(), nullable=False),
        sa.Column("pre_booking_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", notification_status, server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("claim_token", sa.Uuid()),
        sa.Column("last_error", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        # No foreign keys: see the Notification model (they cost 40 % of a large restock).
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("pre_booking_id", name="uq_notifications_pre_booking_id"),
    )
    op.create_index("ix_notifications_restock_id", "notifications", ["restock_id"])
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at", "id"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_index("ix_notifications_restock_id", table_name="notifications")
    op.drop_table("notifications")
    notification_status.drop(op.get_bind())
    op.drop_index("ix_restocks_book_id", table_name="restocks")
    op.drop_table("restocks")
    op.drop_column("users", "unreachable_at")
