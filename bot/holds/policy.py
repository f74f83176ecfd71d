"""How the shop runs its line (the settings), and the messages a hold sends."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class HoldPolicy:
    """RESTOCK_POLICY, PICKUP_WINDOW, PICKUP_REMINDER and TIMEZONE, as the services use them."""

    hold_in_line: bool = False
    pickup_window: timedelta = timedelta(days=2)
    pickup_reminder: timedelta = timedelta(days=1)
    zone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))


@dataclass(frozen=True)
class HeldCopy:
    """A copy set aside for a reader: what their messages about it say."""

    reservation_id: int
    title: str
    author: str
    until: datetime  # in the shop's time zone
    # The reader's language (users.language), for their messages; None: the default.
    language: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """A message's final text and its buttons (the Bot API's reply_markup JSON)."""

    text: str
    reply_markup: dict[str, Any] | None = None


class HoldMessages(Protocol):
    """Renders hold messages; the Telegram layer supplies it, so the outbox holds the
    final text while the services stay free of Telegram's formatting."""

    def offer(self, hold: HeldCopy) -> OutgoingMessage: ...

    def reminder(self, hold: HeldCopy) -> OutgoingMessage: ...

    def expired(self, hold: HeldCopy) -> OutgoingMessage: ...
