"""The reader's line as libraries run it (issue 21): pause, "only needed until", place
updates and withdrawn books.

- Reservations may be paused (a status that keeps the row's id, so its place, but is
  outside the line a restock reads) until a day or for good, and may lapse (a status kept
  in history) after the day the reader needs the book until. A withdrawal cancels them
  with its reason.
- The place last told to the reader, and when, so updates go out at most once a day;
  a reader may turn them off. A book whose line moved is marked for the loop that tells
  the readers behind.
- Books may be withdrawn, with a reason.
- Three new kinds of message; place updates may be many per reservation, at most one of
  them waiting in the outbox at a time.

The statuses come as a new enum type swapped in for the old one, as in 0005: a value
added by ALTER TYPE ... ADD VALUE may not be used in the transaction that added it, and
the live index below names paused.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("waiting", "notified", "cancelled", "on_hold", "collected", "expired")
NEW_STATUSES = (*OLD_STATUSES, "paused", "lapsed")
# On the way down, what each new status was closest to before.
DOWNGRADED = {"paused": "waiting", "lapsed": "cancelled"}
OLD_KINDS = ("back_in_stock", "hold_offer", "hold_reminder", "hold_expired")
NEW_KINDS = (*OLD_KINDS, "place_update", "lapsed", "withdrawn")

# Indexes whose predicates name a status: made again over the new type.
STATUS_INDEXES = {
    "ix_pre_bookings_waiting_line": (["book_id", "id"], "status = 'waiting'"),
    "ix_pre_bookings_holds_due": (["hold_expires_at", "id"], "status = 'on_hold'"),
    "ix_pre_bookings_holds_of_book": (["book_id"], "status = 'on_hold'"),
}
OLD_LIVE = "status IN ('waiting', 'on_hold')"
NEW_LIVE = "status IN ('waiting', 'paused', 'on_hold')"

PRE_BOOKING_COLUMNS = {
    "paused_at": sa.DateTime(timezone=True),
    "resume_on": sa.Date(),
    "needed_until": sa.Date(),
    "lapsed_at": sa.DateTime(timezone=True),
    "cancel_reason": sa.Text(),
    "place_told": sa.Integer(),
    "place_told_at": sa.DateTime(timezone=True),
}


def upgrade() -> None:
    drop_status_indexes()
    swap_status_type(NEW_STATUSES, "status::text")
    create_status_indexes(NEW_LIVE)
    for name, type_ in PRE_BOOKING_COLUMNS.items():
        op.add_column("pre_bookings", sa.Column(name, type_))
    op.create_index(
        "ix_pre_bookings_paused_line",
        "pre_bookings",
        ["book_id", "id"],
        postgresql_where=sa.text("status = 'paused'"),
    )
    op.create_index(
        "ix_pre_bookings_resume_due",
        "pre_bookings",
        ["resume_on"],
        postgresql_where=sa.text("status = 'paused' AND resume_on IS NOT NULL"),
    )
    op.create_index(
        "ix_pre_bookings_lapse_due",
        "pre_bookings",
        ["needed_until"],
        postgresql_where=sa.text("status IN ('waiting', 'paused') AND needed_until IS NOT NULL"),
    )

    op.add_column(
        "users",
        sa.Column("line_updates", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("books", sa.Column("withdrawn_at", sa.DateTime(timezone=True)))
    op.add_column("books", sa.Column("withdrawn_reason", sa.Text()))
    op.add_column("books", sa.Column("line_moved_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_books_line_moved",
        "books",
        ["line_moved_at"],
        postgresql_where=sa.text("line_moved_at IS NOT NULL"),
    )

    swap_kinds(NEW_KINDS)
    op.drop_constraint("uq_notifications_pre_booking_id_kind", "notifications", type_="unique")
    op.create_index(
        "uq_notifications_pre_booking_id_kind",
        "notifications",
        ["pre_booking_id", "kind"],
        unique=True,
        postgresql_where=sa.text("kind <> 'place_update'"),
    )
    op.create_index(
        "uq_notifications_pending_place_update",
        "notifications",
        ["pre_booking_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'place_update' AND status = 'pending'"),
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind IN ('place_update', 'lapsed', 'withdrawn')")
    op.drop_index("uq_notifications_pending_place_update", table_name="notifications")
    op.drop_index("uq_notifications_pre_booking_id_kind", table_name="notifications")
    op.create_unique_constraint(
        "uq_notifications_pre_booking_id_kind", "notifications", ["pre_booking_id", "kind"]
    )
    swap_kinds(OLD_KINDS)

    op.drop_index("ix_books_line_moved", table_name="books")
    for column in ("line_moved_at", "withdrawn_reason", "withdrawn_at"):
        op.drop_column("books", column)
    op.drop_column("users", "line_updates")

    for index in ("ix_pre_bookings_lapse_due", "ix_pre_bookings_resume_due"):
        op.drop_index(index, table_name="pre_bookings")
    op.drop_index("ix_pre_bookings_paused_line", table_name="pre_bookings")
    for name in reversed(PRE_BOOKING_COLUMNS):
        op.drop_column("pre_bookings", name)
    drop_status_indexes()
    cases = " ".join(f"WHEN '{new}' THEN '{old}'" for new, old in DOWNGRADED.items())
    swap_status_type(OLD_STATUSES, f"CASE status::text {cases} ELSE status::text END")
    create_status_indexes(OLD_LIVE)


def drop_status_indexes() -> None:
    op.drop_index("uq_pre_bookings_live_user_book", table_name="pre_bookings")
    for name in STATUS_INDEXES:
        op.drop_index(name, table_name="pre_bookings")


def create_status_indexes(live: str) -> None:
    op.create_index(
        "uq_pre_bookings_live_user_book",
        "pre_bookings",
        ["user_id", "book_id"],
        unique=True,
        postgresql_where=sa.text(live),
    )
    for name, (columns, where) in STATUS_INDEXES.items():
        op.create_index(name, "pre_bookings", columns, postgresql_where=sa.text(where))


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


def swap_kinds(kinds: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint(
        op.f("ck_notifications_kind_known"), "notifications", f"kind IN ({listed})"
    )
