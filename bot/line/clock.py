"""The time the line's rules read "today" from (the shop's day for /until and for lapsing):
the system's, or a test's, which can cross midnight at will."""

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def shop_today(clock: Clock, zone: tzinfo) -> date:
    """Today's date in the shop's time zone."""
    return clock().astimezone(zone).date()
