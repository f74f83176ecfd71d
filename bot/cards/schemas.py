"""A book as one reader sees it: availability, their own place, what they can do."""

from dataclasses import dataclass
from datetime import date, datetime

from bot.books.schemas import BookView


@dataclass(frozen=True)
class NoReservation:
    """The reader is not waiting for the book (nor just told it is back)."""


@dataclass(frozen=True)
class Waiting:
    reservation_id: int
    place: int
    since: datetime
    # The day a copy is expected (bot.books.expected_wait), when the history allows.
    expected_on: date | None = None


@dataclass(frozen=True)
class Notified:
    """Told the book is back; shown while it is still in stock."""

    reservation_id: int
    at: datetime


@dataclass(frozen=True)
class Paused:
    """Out of the line for a while (/pause): the place it takes again when resumed, and
    the day it resumes by itself, if any."""

    reservation_id: int
    place: int
    resume_on: date | None = None


@dataclass(frozen=True)
class OnHold:
    """A copy set aside for the reader (RESTOCK_POLICY=hold_in_line), kept until then."""

    reservation_id: int
    until: datetime


# One class per state a reader can be in for a book.
ReaderStatus = NoReservation | Waiting | Paused | Notified | OnHold


@dataclass(frozen=True)
class BookCard:
    book: BookView
    status: ReaderStatus
    readers_waiting: int
    on_hold: int = 0  # copies set aside for readers (only under hold_in_line)
    readers_paused: int = 0  # they keep their place and still want the book (/pause)

    @property
    def free_copies(self) -> int:
        """Copies a reader can buy now: the stock less the copies on hold."""
        return max(self.book.stock_quantity - self.on_hold, 0)


@dataclass(frozen=True)
class BookInLine:
    """A book and how many readers wait for it, as inline search lists it."""

    book: BookView
    readers_waiting: int
    on_hold: int = 0


@dataclass(frozen=True)
class InlinePage:
    """One page of inline results; next_page is None on the last."""

    books: tuple[BookInLine, ...]
    next_page: int | None
