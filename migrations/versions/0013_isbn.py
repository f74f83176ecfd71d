"""Books by ISBN (issue 22): an ISBN-13 per book, unique where present, and the metadata
service's answers cached for every process.

- books.isbn: digits only, ISBN-13 (ISBN-10 and hyphenated forms are normalised before
  they reach it); NULL for the books added before or without one.
- book_metadata: the last answer of the metadata service (BOOK_METADATA_URL) per ISBN:
  found with title and author, or not found; fetched_at says how old it is.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("books", sa.Column("isbn", sa.String(13), nullable=True))
    op.create_index(
        "uq_books_isbn",
        "books",
        ["isbn"],
        unique=True,
        postgresql_where=sa.text("isbn IS NOT NULL"),
    )
    op.create_table(
        "book_metadata",
        sa.Column("isbn", sa.String(13), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(255), nullable=True),
        sa.Column("author", sa.String(255), nullable=True),
        sa.Column(
            "fetched_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("isbn", name=op.f("pk_book_metadata")),
    )


def downgrade() -> None:
    op.drop_table("book_metadata")
    op.drop_index("uq_books_isbn", table_name="books")
    op.drop_column("books", "isbn")
