from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base

TITLE_MAX_LENGTH = 255
AUTHOR_MAX_LENGTH = 255
# Stored as ISBN-13, digits only (bot/books/isbn.py normalises every form typed).
ISBN_LENGTH = 13


class Book(Base):
    """A title the bookstore sells, with how many copies are on the shelf."""

    __tablename__ = "books"
    __table_args__ = (CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    author: Mapped[str] = mapped_column(String(AUTHOR_MAX_LENGTH))
    # Derived from title and author by bot.books.folding, written with them by the
    # repository (the database's own lower() and parser depend on its locale).
    title_key: Mapped[str] = mapped_column(Text)
    author_key: Mapped[str] = mapped_column(Text)
    search_vector: Mapped[str] = mapped_column(TSVECTOR)
    stock_quantity: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Withdrawn by staff (out of print, cancelled by the publisher): cannot be reserved
    # until a restock brings it back.
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    # Someone left the book's line (or took a copy) since the line's loop last told the
    # readers behind their new places.
    line_moved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The book's ISBN-13 when staff gave one (books from before have none).
    isbn: Mapped[str | None] = mapped_column(String(ISBN_LENGTH))


# One entry per title and author, whatever the case: two staff adding the same book at
# once, or an import run twice, cannot double the catalog.
Index("uq_books_title_key_author_key", Book.title_key, Book.author_key, unique=True)
# The catalog's order, so a /books page reads five index entries instead of sorting.
Index("ix_books_title_key_id", Book.title_key, Book.id)
# Word-prefix search ('war':* & 'pea':*) in core PostgreSQL, no extension needed.
Index("ix_books_search_vector", Book.search_vector, postgresql_using="gin")
# The books whose readers are owed place updates.
Index(
    "ix_books_line_moved",
    Book.line_moved_at,
    postgresql_where=Book.line_moved_at.isnot(None),
)

# One book per ISBN; /book <ISBN> and a search by ISBN read one index entry.
Index("uq_books_isbn", Book.isbn, unique=True, postgresql_where=Book.isbn.isnot(None))


class BookMetadata(Base):
    """A metadata service's answer for an ISBN, shared by every process and kept across
    restarts: found answers for a month, "no such book" for a day (bot/books/metadata.py)."""

    __tablename__ = "book_metadata"

    isbn: Mapped[str] = mapped_column(String(ISBN_LENGTH), primary_key=True)
    found: Mapped[bool] = mapped_column(Boolean)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX_LENGTH))
    author: Mapped[str | None] = mapped_column(String(AUTHOR_MAX_LENGTH))
    fetched_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class RestockEvent(Base):
    """Every stock change made by staff: who, when, from what to what."""

    __tablename__ = "restocks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id"), index=True)
    old_stock: Mapped[int] = mapped_column(Integer)
    new_stock: Mapped[int] = mapped_column(Integer)
    admin_telegram_id: Mapped[int] = mapped_column(BigInteger)
    # The back-in-stock message of a restock that notified readers: stored once here,
    # not in each of its outbox rows (their text is NULL).
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
