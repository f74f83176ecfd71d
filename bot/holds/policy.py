"""How the shop runs its line: RESTOCK_POLICY, PICKUP_WINDOW, PICKUP_REMINDER, and the
opening hours the window and the reminder keep to (OPENING_HOURS, CLOSED_DATES)."""

from dataclasses import dataclass
from datetime import timedelta

from bot.opening_hours import ShopHours


@dataclass(frozen=True)
class HoldPolicy:
    """The line's settings, as the services use them (the shop's time zone is its own
    setting, TIMEZONE, which every service that shows a time gets)."""

    hold_in_line: bool = False
    pickup_window: timedelta = timedelta(days=2)
    pickup_reminder: timedelta = timedelta(days=1)
    # None: the window runs on the clock and reminders go out at any hour.
    hours: ShopHours | None = None
