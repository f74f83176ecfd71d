"""Writing what became of claimed messages to the outbox, while their claim lasts."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from bot.delivery.claims import Claim
from bot.delivery.pacing import loop_time
from bot.notifications.outbox import Outbox
from bot.notifications.schemas import Delivery

logger = logging.getLogger(__name__)


class OutcomeRecords:
    """Retries each write through a database hiccup while the claim lasts: a sent message
    whose outcome is lost would be sent again after the lease."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        # Set while writes fail: send nothing new until they work again.
        self.failing = False

    async def sent(self, deliveries: Sequence[Delivery], claim: Claim) -> None:
        await self._write(lambda: self._outbox.mark_sent(*deliveries), claim)

    async def failed(
        self, delivery: Delivery, reason: str, unreachable: bool, claim: Claim
    ) -> None:
        await self._write(lambda: self._outbox.mark_failed(delivery, reason, unreachable), claim)

    async def given_back(self, deliveries: Sequence[Delivery], claim: Claim, delay: float) -> None:
        """Return rows unsent and not counted, due after delay seconds."""
        await self._write(
            lambda: self._outbox.give_back(deliveries, timedelta(seconds=delay)), claim
        )

    async def _write(self, write: Callable[[], Awaitable[None]], claim: Claim) -> None:
        delay = 0.1
        while True:
            try:
                await write()
            except Exception:
                self.failing = True
                if loop_time() + delay > claim.record_by:
                    logger.exception("Could not record a notification's outcome in time")
                    return
                logger.warning("Recording a notification's outcome failed; retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self.failing = False
                return
