from dataclasses import dataclass
from datetime import datetime

from bot.books.schemas import BookView


@dataclass(frozen=True)
class BookDemand:
    """How much readers want one book: waiting now, since when, and what became of
    their reservations lately (by outcome, in the report's order of outcomes)."""

    book: BookView
    waiting: int
    oldest_wait: datetime | None
    recent: tuple[int, ...]


@dataclass(frozen=True)
class DemandReport:
    """Books by readers waiting, most first; `outcomes` names the `recent` counts,
    each over the `days` before `generated_at`."""

    books: tuple[BookDemand, ...]
    outcomes: tuple[str, ...]
    days: int
    generated_at: datetime

    @property
    def readers_waiting(self) -> int:
        return sum(book.waiting for book in self.books)
