"""Free or paid delivery: what differs between them, chosen once when the dispatcher is
built (paid broadcasts in bot/delivery/paid_mode.py)."""

import asyncio
from typing import Protocol

from bot.delivery.claims import Claim
from bot.delivery.outcome_records import OutcomeRecords
from bot.delivery.pacing import Pacer
from bot.delivery.paid_pacing import PaidPacer
from bot.notifications.schemas import Delivery


class DeliveryMode(Protocol):
    @property
    def pacer(self) -> Pacer | PaidPacer:
        """Whose turns the messages take."""

    @property
    def max_in_flight(self) -> int:
        """Sends under way at once."""

    @property
    def allow_paid_broadcast(self) -> bool | None:
        """The Bot API's allow_paid_broadcast parameter for each message."""

    @property
    def recording(self) -> set[asyncio.Task[None]]:
        """Writes of outcomes that run apart from their sends."""

    async def sent(self, delivery: Delivery, claim: Claim) -> None:
        """Telegram accepted the message."""

    def caught_up(self) -> None:
        """Nothing was due and no send is under way."""


class FreeMode:
    """Within the free limit, paced with the bot's replies; each message recorded as sent."""

    allow_paid_broadcast = None

    def __init__(self, pacer: Pacer, max_in_flight: int, records: OutcomeRecords) -> None:
        self.pacer = pacer
        self.max_in_flight = max_in_flight
        self._records = records
        self.recording: set[asyncio.Task[None]] = set()  # none: each send writes its own

    async def sent(self, delivery: Delivery, claim: Claim) -> None:
        await self._records.sent([delivery], claim)

    def caught_up(self) -> None:
        pass
