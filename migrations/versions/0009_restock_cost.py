"""The restock's cost: drop the reservations' index on book_id alone.

A notify_all restock marks every waiting reservation of a book notified; the status is
in the partial indexes' predicates, so each row gets a new entry in every full index of
pre_bookings. The one on book_id alone served nobody: the line and the holds of a book
have their own partial indexes, a reader's reservations go through user_id, and books
are never deleted. With every reservation of a long line under one key, it was about a
quarter of a 100,000-reader restock (docs/benchmarks.md).

/deliveries still looks up a book's holds of every status (the messages passed on after a
release or an expiry): a partial index on book_id for reservations that ever held a copy
serves it, and a notify_all restock, which sets no hold deadline, writes nothing to it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_pre_bookings_book_id", table_name="pre_bookings")
    op.create_index(
        "ix_pre_bookings_held_of_book",
        "pre_bookings",
        ["book_id"],
        postgresql_where=sa.text("hold_expires_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_pre_bookings_held_of_book", table_name="pre_bookings")
    op.create_index("ix_pre_bookings_book_id", "pre_bookings", ["book_id"])
