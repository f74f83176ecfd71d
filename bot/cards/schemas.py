"""A book as one reader sees it: availability, their own place, what they can do."""

from dataclasses import dataclass
from datetime import datetime

from bot.books.schemas import BookView


@dataclass(frozen=True)
class NoReservation:
    """The reader is not waiting for the book (nor just told it is back)."""


@dataclass(frozen=True)
class Waiting:
    reservation_id: int
    place: int
    since: datetime


@dataclass(frozen=True)
class Notified:
    """Told the book is back; shown while it is still in stock."""

    reservation_id: int
    at: datetime


# One class per state a reader can be in for a book; a new state (a hold) is one more.
ReaderStatus = NoReservation | Waiting | Notified


@dataclass(frozen=True)
class BookCard:
    book: BookView
    status: ReaderStatus
    readers_waiting: int


@dataclass(frozen=True)
class BookInLine:
    """A book and how many readers wait for it, as inline search lists it."""

    book: BookView
    readers_waiting: int


@dataclass(frozen=True)
class InlinePage:
    """One page of inline results; next_page is None on the last."""

    books: tuple[BookInLine, ...]
    next_page: int | None
