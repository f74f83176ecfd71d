from dataclasses import dataclass
from datetime import datetime

from bot.books.schemas import BookView


@dataclass(frozen=True)
class BookDemand:
    """How much readers want one book: waiting now, since when, and what became of
    their reservations lately (by outcome, in the report's order of outcomes); under
    hold_in_line also the copies on hold for readers; and the readers paused (/pause),
    who keep their place and still want it."""

    book: BookView
    waiting: int
    oldest_wait: datetime | None
    recent: tuple[int, ...]
    on_hold: int = 0
    paused: int = 0


@dataclass(frozen=True)
class DemandReport:
    """Books by readers waiting and paused, most first; `outcomes` names the `recent` counts,
    each over the `days` before `generated_at`; holds says the shop runs hold_in_line
    (the report then shows copies on hold)."""

    books: tuple[BookDemand, ...]
    outcomes: tuple[str, ...]
    days: int
    generated_at: datetime
    holds: bool = False

    @property
    def readers_waiting(self) -> int:
        return sum(book.waiting for book in self.books)

    @property
    def copies_on_hold(self) -> int:
        return sum(book.on_hold for book in self.books)

    @property
    def readers_paused(self) -> int:
        """Shown only when some are: a shop without pauses reads as before."""
        return sum(book.paused for book in self.books)
