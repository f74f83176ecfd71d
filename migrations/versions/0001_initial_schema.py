"""Users, books and pre-bookings.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

pre_booking_status = postgresql.ENUM(
    "waiting", "notified", "cancelled", name="pre_booking_status", create_type=False
)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("first_name", sa.String(255), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("telegram_id", name="uq_users_telegram_id"),
    )
    op.create_table(
        "books",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("stock_quantity", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        # op.f: the name is final, not to be run through the naming convention again.
        sa.CheckConstraint("stock_quantity >= 0", name=op.f("ck_books_stock_not_negative")),
        sa.PrimaryKeyConstraint("id", name="pk_books"),
    )
    op.create_index(
        "uq_books_title_author",
        "books",
        [sa.text("lower(title)"), sa.text("lower(author)")],
        unique=True,
    )
    pre_booking_status.create(op.get_bind())
    op.create_table(
        "pre_bookings",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("status", pre_booking_status, server_default="waiting", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_pre_bookings_user_id_users"),
        sa.ForeignKeyConstraint(["book_id"], ["books.id"], name="fk_pre_bookings_book_id_books"),
        sa.PrimaryKeyConstraint("id", name="pk_pre_bookings"),
    )
    op.create_index("ix_pre_bookings_user_id", "pre_bookings", ["user_id"])
    op.create_index("ix_pre_bookings_book_id", "pre_bookings", ["book_id"])
    op.create_index(
        "uq_pre_bookings_waiting_user_book",
        "pre_bookings",
        ["user_id", "book_id"],
        unique=True,
        postgresql_where=sa.text("status = 'waiting'"),
    )


def downgrade() -> None:
    op.drop_index("uq_pre_bookings_waiting_user_book", table_name="pre_bookings")
    op.drop_index("ix_pre_bookings_book_id", table_name="pre_bookings")
    op.drop_index("ix_pre_bookings_user_id", table_name="pre_bookings")
    op.drop_table("pre_bookings")
    pre_booking_status.drop(op.get_bind())
    op.drop_index("uq_books_title_author", table_name="books")
    op.drop_table("books")
    op.drop_table("users")
