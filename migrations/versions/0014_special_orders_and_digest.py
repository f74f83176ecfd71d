"""Readers' special orders and the staff's weekly digest (issue 22).

- book_requests: a book a reader asked for that the shop does not stock, by ISBN or by
  title and author; readers asking for the same one (the same ISBN, or the same folded
  words) join one open request. Staff order it (it becomes a catalog book, book_id) or
  decline it (with a reason).
- book_request_readers: who asked, in the order they asked (id), and the reservation
  each became when the request was ordered.
- notifications: a message about a request (ordered, declined) names its reader's row
  (request_reader_id); a declined request has no reservation, so pre_booking_id may be
  NULL, and a digest is about neither. Failed messages are indexed by when they failed,
  for the digest.
- staff_digests: one row per period whose digest was queued, so it goes out once
  whatever the number of processes or restarts.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "back_in_stock",
    "hold_offer",
    "hold_reminder",
    "hold_expired",
    "place_update",
    "lapsed",
    "withdrawn",
)
NEW_KINDS = (*OLD_KINDS, "ordered", "declined", "digest")


def kinds_check(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    op.create_table(
        "book_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        # The normalised ISBN-13, when the reader gave one.
        sa.Column("isbn", sa.String(13), nullable=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("author", sa.String(255), nullable=True),
        # What makes two readers' requests the same one: "isbn:<ISBN-13>" or
        # "words:<folded words>".
        sa.Column("match_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=True),
        sa.Column("expected_on", sa.Date(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'ordered', 'declined')",
            name=op.f("ck_book_requests_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["book_id"], ["books.id"], name=op.f("fk_book_requests_book_id_books")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_book_requests")),
    )
    op.create_index(
        "uq_book_requests_open_match_key",
        "book_requests",
        ["match_key"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "book_request_readers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pre_booking_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["book_requests.id"],
            name=op.f("fk_book_request_readers_request_id_book_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_book_request_readers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_book_request_readers")),
    )
    op.create_index(
        "uq_book_request_readers_request_id_user_id",
        "book_request_readers",
        ["request_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
    op.create_index("ix_book_request_readers_user_id", "book_request_readers", ["user_id", "id"])

    op.alter_column("notifications", "pre_booking_id", nullable=True)
    op.add_column("notifications", sa.Column("request_reader_id", sa.BigInteger()))
    op.create_index(
        "uq_notifications_request_reader_id_kind",
        "notifications",
        ["request_reader_id", "kind"],
        unique=True,
        postgresql_where=sa.text("request_reader_id IS NOT NULL"),
    )
    # The digest's "messages failed in the last week" reads failed rows by when they
    # failed, without scanning an outbox that is never pruned.
    op.create_index(
        "ix_notifications_failed",
        "notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'failed'"),
    )
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_known"), "notifications", kinds_check(NEW_KINDS)
    )
    op.create_check_constraint(
        op.f("ck_notifications_about_something"),
        "notifications",
        "pre_booking_id IS NOT NULL OR request_reader_id IS NOT NULL OR kind = 'digest'",
    )

    op.create_table(
        "staff_digests",
        # The moment this period's digest was due (DIGEST_AT, in the shop's time zone).
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "queued_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("due_at", name=op.f("pk_staff_digests")),
    )


def downgrade() -> None:
    op.drop_table("staff_digests")
    # Messages about requests and digests have no place in the older schema.
    op.execute("DELETE FROM notifications WHERE pre_booking_id IS NULL")
    op.execute("DELETE FROM notifications WHERE kind IN ('ordered', 'declined', 'digest')")
    op.drop_constraint(op.f("ck_notifications_about_something"), "notifications", type_="check")
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_known"), "notifications", kinds_check(OLD_KINDS)
    )
    op.drop_index("uq_notifications_request_reader_id_kind", table_name="notifications")
    op.drop_index("ix_notifications_failed", table_name="notifications")
    op.drop_column("notifications", "request_reader_id")
    op.alter_column("notifications", "pre_booking_id", nullable=False)
    op.drop_index("ix_book_request_readers_user_id", table_name="book_request_readers")
    op.drop_index("uq_book_request_readers_request_id_user_id", table_name="book_request_readers")
    op.drop_table("book_request_readers")
    op.drop_index("uq_book_requests_open_match_key", table_name="book_requests")
    op.drop_table("book_requests")
