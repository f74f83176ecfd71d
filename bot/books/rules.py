"""What makes a book, a quantity and a search acceptable."""

import unicodedata

from bot.books.errors import (
    BookFieldInvalid,
    QuantityOutOfRange,
    SearchTooLong,
    WithdrawalReasonInvalid,
)
from bot.books.isbn import normalised
from bot.books.models import AUTHOR_MAX_LENGTH, TITLE_MAX_LENGTH
from bot.books.schemas import NewBook

# No shop shelves a million copies of one title; a bigger number is a typo.
MAX_STOCK = 1_000_000
SEARCH_MAX_LENGTH = 100
# Long enough for "cancelled by the publisher, a new edition is announced for spring";
# short enough to sit beside a book's name in every message that shows it.
WITHDRAWAL_REASON_MAX_LENGTH = 200


def tidy(text: str) -> str:
    """Collapse runs of whitespace, so 'War  and Peace ' matches 'War and Peace', and drop
    control characters (PostgreSQL refuses NUL in text; none belongs in a title)."""
    printable = "".join(
        " " if unicodedata.category(character) == "Cc" else character for character in text
    )
    return " ".join(printable.split())


def checked_quantity(quantity: int) -> int:
    if not 0 <= quantity <= MAX_STOCK:
        raise QuantityOutOfRange(MAX_STOCK)
    return quantity


def checked_new_book(
    title: str, author: str, quantity: int, isbn_text: str | None = None
) -> NewBook:
    """The book to add, tidied; isbn_text (any ISBN form, or empty) made its ISBN-13."""
    title, author = tidy(title), tidy(author)
    if not title or len(title) > TITLE_MAX_LENGTH:
        raise BookFieldInvalid("title", TITLE_MAX_LENGTH)
    if not author or len(author) > AUTHOR_MAX_LENGTH:
        raise BookFieldInvalid("author", AUTHOR_MAX_LENGTH)
    isbn = normalised(isbn_text) if isbn_text and isbn_text.strip() else None
    return NewBook(title, author, checked_quantity(quantity), isbn)


def checked_search(query: str | None) -> str | None:
    if query is None:
        return None
    query = tidy(query)
    if len(query) > SEARCH_MAX_LENGTH:
        raise SearchTooLong(SEARCH_MAX_LENGTH)
    return query or None


def checked_withdrawal_reason(reason: str) -> str:
    """The reason staff give for withdrawing a book, tidied: 1 to 200 characters."""
    reason = tidy(reason)
    if not reason or len(reason) > WITHDRAWAL_REASON_MAX_LENGTH:
        raise WithdrawalReasonInvalid(WITHDRAWAL_REASON_MAX_LENGTH)
    return reason
