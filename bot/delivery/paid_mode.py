"""Paid broadcasts (allow_paid_broadcast): Telegram lets a bot send up to 1000 messages a
second, charging Stars for those beyond the free limit.

Paid messages don't count against the free limit that replies use: they have a pacer of
their own (one per process), more sends under way to keep up the rate while each waits
for its answer, their outcomes written together, and a count logged for the Stars bill.
"""

import asyncio
import logging
from dataclasses import dataclass, field

from bot.delivery.claims import Claim
from bot.delivery.outcome_records import OutcomeRecords
from bot.delivery.paid_pacing import PaidPacer
from bot.notifications.schemas import Delivery

logger = logging.getLogger(__name__)

# Paid broadcasts record their sent messages together, this often: one write a message
# can't keep up with 1000 a second. A crash may then repeat this long's messages.
PAID_RECORD_SECONDS = 0.1


@dataclass
class SentBatch:
    """Paid messages sent, waiting to be recorded together."""

    sent: list[tuple[Delivery, Claim]] = field(default_factory=list)


class PaidMode:
    allow_paid_broadcast = True

    def __init__(
        self, messages_per_second: float, max_in_flight: int, records: OutcomeRecords
    ) -> None:
        self.pacer = PaidPacer(messages_per_second)
        self.max_in_flight = max_in_flight
        self._records = records
        self.sent_count = 0  # messages sent as paid broadcasts since the last log line
        self._open_batch: SentBatch | None = None
        self.recording: set[asyncio.Task[None]] = set()

    async def sent(self, delivery: Delivery, claim: Claim) -> None:
        """Record the message along with the others sent within PAID_RECORD_SECONDS,
        while the next sends go on."""
        self.sent_count += 1
        if self._open_batch is None:
            self._open_batch = SentBatch()
            task = asyncio.create_task(self._record_batch(self._open_batch))
            self.recording.add(task)
            task.add_done_callback(self.recording.discard)
        self._open_batch.sent.append((delivery, claim))

    def caught_up(self) -> None:
        """Once a paid broadcast is done: how many messages it sent, for the Stars bill."""
        if self.sent_count:
            logger.info(
                "Sent %d notifications as paid broadcasts (0.1 Star each beyond the free limit)",
                self.sent_count,
            )
            self.sent_count = 0

    async def _record_batch(self, batch: SentBatch) -> None:
        await asyncio.sleep(PAID_RECORD_SECONDS)
        self._open_batch = None  # later sends start the next batch
        deliveries = [delivery for delivery, _ in batch.sent]
        earliest = min((claim for _, claim in batch.sent), key=lambda claim: claim.record_by)
        await self._records.sent(deliveries, earliest)
