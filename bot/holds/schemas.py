from dataclasses import dataclass
from datetime import datetime

from bot.books.schemas import BookView


@dataclass(frozen=True)
class HoldEntry:
    """A copy on hold, as staff see it."""

    reservation_id: int
    first_name: str | None
    username: str | None
    until: datetime  # in the shop's time zone


@dataclass(frozen=True)
class LineRestock:
    """A stock change under hold_in_line: how many copies went to readers in line."""

    book: BookView
    old_stock: int
    new_stock: int
    set_aside: int
    waiting_before: int
    line_longer: bool = False  # more were waiting than counted (waiting_before)

    @property
    def still_waiting(self) -> int:
        return self.waiting_before - self.set_aside


@dataclass(frozen=True)
class Collection:
    """A held copy taken at the counter: the reservation and the book's new stock."""

    reservation_id: int
    book: BookView


@dataclass(frozen=True)
class HoldsReport:
    """A book's copies on hold, its free copies and the length of its line."""

    book: BookView
    holds: tuple[HoldEntry, ...]
    free: int
    waiting: int
    line_longer: bool = False  # more are waiting than counted


@dataclass(frozen=True)
class SweepReport:
    """What one pass of the expiry loop did."""

    expired: int
    offered: int
    reminded: int
    more: bool = False  # a full batch: more may be due at once
