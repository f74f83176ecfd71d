from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo

from bot.books.schemas import BookView

# Staff are told the length of a line up to this many ("1,000+" beyond): counting a
# line of 100,000 would cost a restock several times all else it does.
LINE_COUNTED_UP_TO = 1000


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
    # The book was withdrawn, and this restock, bringing copies, made it available again.
    reinstated: bool = False

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
    """A book's copies on hold, its free copies and the length of its line: the readers
    waiting, and those paused (shown only when there are any)."""

    book: BookView
    holds: tuple[HoldEntry, ...]
    free: int
    waiting: int
    line_longer: bool = False  # more are waiting than counted
    paused: int = 0
    paused_longer: bool = False  # more are paused than counted


@dataclass(frozen=True)
class SweepReport:
    """What one pass of the expiry loop did."""

    expired: int
    offered: int
    reminded: int
    more: bool = False  # a full batch: more may be due at once
    # What the line's own steps did (bot/line/upkeep.py), by name.
    line: Mapping[str, int] = field(default_factory=dict)

    @property
    def anything_done(self) -> bool:
        return bool(self.expired or self.offered or self.reminded or any(self.line.values()))


def in_shop_time(held: list[HoldEntry], zone: tzinfo) -> tuple[HoldEntry, ...]:
    """The holds with their deadlines in the shop's time zone, as staff see them."""
    return tuple(replace(hold, until=hold.until.astimezone(zone)) for hold in held)
