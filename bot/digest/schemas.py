"""What the staff's digest holds: plain values, worded by the Telegram layer."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.demand.schemas import BookDemand
from bot.special_orders.schemas import OpenRequest


@dataclass(frozen=True)
class EndingHold:
    """A copy set aside whose pickup window ends soon."""

    reservation_id: int
    book_id: int
    title: str
    author: str
    until: datetime  # in the shop's time zone


@dataclass(frozen=True)
class FailedMessages:
    """The messages of one kind (NotificationKind's value) that failed lately."""

    kind: str
    failed: int
    # Of them, those to readers who blocked the bot or whose chat is gone: news still
    # true goes out again when the reader comes back (bot/notifications/reachability.py).
    unreachable: int

    @property
    def undelivered(self) -> int:
        """Those Telegram refused or that waited too long: worth a look."""
        return self.failed - self.unreachable


@dataclass(frozen=True)
class Digest:
    """The staff's digest at generated_at (in the shop's time zone)."""

    generated_at: datetime
    # Books with copies to order (suggested_order > 0, as /demand computes it), most first.
    orders: tuple[BookDemand, ...]
    hold_ratio_target: float
    # Open special orders, the most readers first.
    requests: tuple[OpenRequest, ...]
    # Holds whose window ends within holds_within, the soonest first.
    holds: tuple[EndingHold, ...]
    holds_within: timedelta
    # Messages that failed within failed_within, by kind.
    failed: tuple[FailedMessages, ...]
    failed_within: timedelta
