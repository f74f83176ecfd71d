"""What time it is, for the line's rules that go by the shop's calendar (a pause's day to
resume): injected, so that a test can let a day go by."""

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def shop_today(clock: Clock, zone: tzinfo) -> date:
    """Today in the shop's time zone (TIMEZONE)."""
    return clock().astimezone(zone).date()
