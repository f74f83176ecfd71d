"""Books compared by keys folded in Python, searched by word prefix through a GIN index.

The old unique index on lower(title), lower(author) followed the server's locale: under a
C locale 'CAFÉ' and 'café' (or 'ВОЙНА И МИР' and 'война и мир') both got in. Such pairs
are the same book under the new keys. Nothing is deleted (readers may wait for either):
the lowest id keeps the plain key and stays the one a new duplicate is refused against;
each later one gets its id appended to its title key after a control character (which
no tidied title contains), so it keeps its place in the catalog order and can never
collide. Titles and authors as shown are untouched.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from bot.books.folding import folded, search_vector

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_SIZE = 1000

READ_BATCH = sa.text(
    "SELECT id, title, author FROM books WHERE id > :after ORDER BY id LIMIT :size"
)
WRITE_BATCH = sa.text(
    """UPDATE books SET title_key = new.title_key, author_key = new.author_key,
           search_vector = CAST(new.search_vector AS tsvector)
       FROM unnest(CAST(:ids AS bigint[]), CAST(:title_keys AS text[]),
                   CAST(:author_keys AS text[]), CAST(:search_vectors AS text[]))
            AS new (id, title_key, author_key, search_vector)
       WHERE books.id = new.id"""
)
SET_ASIDE_LATER_DUPLICATES = sa.text(
    """UPDATE books SET title_key = title_key || chr(31) || id
       FROM (SELECT id AS duplicate_id,
                    row_number() OVER (PARTITION BY title_key, author_key ORDER BY id) AS nth
             FROM books) AS ranked
       WHERE books.id = ranked.duplicate_id AND ranked.nth > 1"""
)


def upgrade() -> None:
    op.add_column("books", sa.Column("title_key", sa.Text()))
    op.add_column("books", sa.Column("author_key", sa.Text()))
    op.add_column("books", sa.Column("search_vector", postgresql.TSVECTOR()))
    fill_keys()
    op.execute(SET_ASIDE_LATER_DUPLICATES)
    for column in ("title_key", "author_key", "search_vector"):
        op.alter_column("books", column, nullable=False)
    op.drop_index("uq_books_title_author", table_name="books")
    op.create_index(
        "uq_books_title_key_author_key", "books", ["title_key", "author_key"], unique=True
    )
    op.create_index("ix_books_title_key_id", "books", ["title_key", "id"])
    op.create_index("ix_books_search_vector", "books", ["search_vector"], postgresql_using="gin")


def fill_keys() -> None:
    """Fold every existing book with the bot's own functions, a batch at a time."""
    connection = op.get_bind()
    after = 0
    while batch := connection.execute(READ_BATCH, {"after": after, "size": BATCH_SIZE}).all():
        connection.execute(
            WRITE_BATCH,
            {
                "ids": [book.id for book in batch],
                "title_keys": [folded(book.title) for book in batch],
                "author_keys": [folded(book.author) for book in batch],
                "search_vectors": [search_vector(book.title, book.author) for book in batch],
            },
        )
        after = batch[-1].id


def downgrade() -> None:
    op.drop_index("ix_books_search_vector", table_name="books")
    op.drop_index("ix_books_title_key_id", table_name="books")
    op.drop_index("uq_books_title_key_author_key", table_name="books")
    op.create_index(
        "uq_books_title_author",
        "books",
        [sa.text("lower(title)"), sa.text("lower(author)")],
        unique=True,
    )
    op.drop_column("books", "search_vector")
    op.drop_column("books", "author_key")
    op.drop_column("books", "title_key")
