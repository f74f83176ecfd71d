"""Holds: copies set aside for readers in line order, with a pickup window.

New reservation statuses (on_hold, collected, expired) and their times; one live
reservation (waiting or on hold) per reader and book; indexes for the line of a book
and for the holds falling due. Notifications get a kind (a reservation may now be
offered a copy, reminded and told of the expiry), buttons, and a restock only when
one caused them.

The statuses come as a new enum type swapped in for the old one, not ALTER TYPE ... ADD
VALUE: a value added that way may not be used in the transaction that added it (the
new unique index names on_hold), and migrations run in one transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("waiting", "notified", "cancelled")
NEW_STATUSES = (*OLD_STATUSES, "on_hold", "collected", "expired")
# On the way down, what each new status was closest to before holds existed.
DOWNGRADED = {"on_hold": "notified", "collected": "notified", "expired": "cancelled"}
KINDS = "kind IN ('back_in_stock', 'hold_offer', 'hold_reminder', 'hold_expired')"


def upgrade() -> None:
    op.drop_index("uq_pre_bookings_waiting_user_book", table_name="pre_bookings")
    swap_status_type(NEW_STATUSES, "status::text")
    for column in ("hold_expires_at", "reminded_at", "collected_at", "expired_at"):
        op.add_column("pre_bookings", sa.Column(column, sa.DateTime(timezone=True)))
    op.create_index(
        "uq_pre_bookings_live_user_book",
        "pre_bookings",
        ["user_id", "book_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('waiting', 'on_hold')"),
    )
    op.create_index(
        "ix_pre_bookings_waiting_line",
        "pre_bookings",
        ["book_id", "id"],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.create_index(
        "ix_pre_bookings_holds_due",
        "pre_bookings",
        ["hold_expires_at", "id"],
        postgresql_where=sa.text("status = 'on_hold'"),
    )
    op.create_index(
        "ix_pre_bookings_holds_of_book",
        "pre_bookings",
        ["book_id"],
        postgresql_where=sa.text("status = 'on_hold'"),
    )

    op.alter_column("notifications", "restock_id", nullable=True)
    op.add_column(
        "notifications",
        sa.Column("kind", sa.String(16), server_default="back_in_stock", nullable=False),
    )
    op.add_column("notifications", sa.Column("reply_markup", postgresql.JSONB()))
    op.create_check_constraint(op.f("ck_notifications_kind_known"), "notifications", KINDS)
    op.drop_constraint("uq_notifications_pre_booking_id", "notifications", type_="unique")
    op.create_unique_constraint(
        "uq_notifications_pre_booking_id_kind", "notifications", ["pre_booking_id", "kind"]
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind <> 'back_in_stock'")
    op.drop_constraint("uq_notifications_pre_booking_id_kind", "notifications", type_="unique")
    op.create_unique_constraint(
        "uq_notifications_pre_booking_id", "notifications", ["pre_booking_id"]
    )
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    op.drop_column("notifications", "reply_markup")
    op.drop_column("notifications", "kind")
    op.execute("UPDATE notifications SET restock_id = 0 WHERE restock_id IS NULL")
    op.alter_column("notifications", "restock_id", nullable=False)

    op.drop_index("ix_pre_bookings_holds_of_book", table_name="pre_bookings")
    op.drop_index("ix_pre_bookings_holds_due", table_name="pre_bookings")
    op.drop_index("ix_pre_bookings_waiting_line", table_name="pre_bookings")
    op.drop_index("uq_pre_bookings_live_user_book", table_name="pre_bookings")
    for column in ("expired_at", "collected_at", "reminded_at", "hold_expires_at"):
        op.drop_column("pre_bookings", column)
    cases = " ".join(f"WHEN '{new}' THEN '{old}'" for new, old in DOWNGRADED.items())
    swap_status_type(OLD_STATUSES, f"CASE status::text {cases} ELSE status::text END")
    op.create_index(
        "uq_pre_bookings_waiting_user_book",
        "pre_bookings",
        ["user_id", "book_id"],
        unique=True,
        postgresql_where=sa.text("status = 'waiting'"),
    )


def swap_status_type(statuses: Sequence[str], new_value: str) -> None:
    """Give pre_bookings.status a new pre_booking_status type with these values."""
    postgresql.ENUM(*statuses, name="pre_booking_status_next").create(op.get_bind())
    op.execute("ALTER TABLE pre_bookings ALTER COLUMN status DROP DEFAULT")
    op.execute(
        "ALTER TABLE pre_bookings ALTER COLUMN status TYPE pre_booking_status_next "
        f"USING ({new_value})::pre_booking_status_next"
    )
    op.execute("DROP TYPE pre_booking_status")
    op.execute("ALTER TYPE pre_booking_status_next RENAME TO pre_booking_status")
    op.execute("ALTER TABLE pre_bookings ALTER COLUMN status SET DEFAULT 'waiting'")
