"""How the shop runs its line: RESTOCK_POLICY, PICKUP_WINDOW and PICKUP_REMINDER."""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class HoldPolicy:
    """The line's settings, as the services use them (the shop's time zone is its own
    setting, TIMEZONE, which every service that shows a time gets)."""

    hold_in_line: bool = False
    pickup_window: timedelta = timedelta(days=2)
    pickup_reminder: timedelta = timedelta(days=1)
