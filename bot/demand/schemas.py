from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.books.schemas import BookView
from bot.special_orders.schemas import OpenRequest


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
    # Under hold_in_line, over the report's days: holds ended (collected, expired or
    # released), those collected, and the median time from set aside to collected.
    holds_ended: int = 0
    collected: int = 0
    median_to_collect: timedelta | None = None
    # Copies to order for readers per copy to come down to the shop's HOLD_RATIO_TARGET.
    suggested_order: int = 0

    @property
    def readers(self) -> int:
        """Who wants a copy: waiting, paused or with one on hold (Koha counts every hold)."""
        return self.waiting + self.paused + self.on_hold

    @property
    def hold_ratio(self) -> float | None:
        """Readers per copy the shop has (its stock, copies on hold included); None
        without copies."""
        return self.readers / self.book.stock_quantity if self.book.stock_quantity else None

    @property
    def collection_rate(self) -> float | None:
        """Of the holds ended lately, the share collected; None when none ended."""
        return self.collected / self.holds_ended if self.holds_ended else None


@dataclass(frozen=True)
class DemandReport:
    """Books by the copies to order (suggested_order against hold_ratio_target), then by
    readers waiting and paused, most first; `outcomes` names the `recent` counts,
    each over the `days` before `generated_at`; holds says the shop runs hold_in_line
    (the report then shows copies on hold); open_requests are readers' special orders
    still waiting for the shop's answer, the most readers first."""

    books: tuple[BookDemand, ...]
    outcomes: tuple[str, ...]
    days: int
    generated_at: datetime
    holds: bool = False
    hold_ratio_target: float = 3
    # Last, with a default: code that builds a report without them keeps working.
    open_requests: tuple[OpenRequest, ...] = ()

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
