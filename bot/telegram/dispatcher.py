"""Delivers the notification outbox through Telegram, paced, surviving restarts.

Runs inside the bot process: started after the bot connects, stopped before it
disconnects. It wakes at once after a restock and also polls, so it delivers what an
earlier process left pending and shares the work with other bot processes.
"""

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import ExtBot

from bot.notifications.outbox import Outbox
from bot.notifications.schemas import Delivery
from bot.telegram.pacing import BACKGROUND, PER_CHAT_INTERVAL, Pacer, retry_after_seconds

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY = 300.0


@dataclass(frozen=True)
class DispatcherTuning:
    """How often to look, how long a claim lasts, how many sends at once, how to back off."""

    poll_interval: float = 2.0
    lease: timedelta = timedelta(seconds=30)
    max_in_flight: int = 8
    retry_base_delay: float = 2.0


class Dispatcher:
    def __init__(
        self,
        bot: ExtBot[Any],
        outbox: Outbox,
        pacer: Pacer,
        tuning: DispatcherTuning | None = None,
    ) -> None:
        tuning = tuning or DispatcherTuning()
        self._bot = bot
        self._outbox = outbox
        self._pacer = pacer
        self._poll_interval = tuning.poll_interval
        self._lease = tuning.lease
        # Claim about two seconds of sending (less with a short lease): little to hand
        # over if we stop, and long done before the lease ends and others may take it.
        seconds_per_batch = min(2.0, self._lease.total_seconds() / 4)
        self._batch_size = max(1, math.floor(seconds_per_batch / pacer.interval))
        self._retry_base_delay = tuning.retry_base_delay
        self._slots = asyncio.Semaphore(tuning.max_in_flight)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._chat_free_at: dict[int, float] = {}

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="notification-dispatcher")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the messages in flight, hand the rest back to the outbox, and end."""
        self._stopping = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            async with asyncio.timeout(grace_seconds):
                await asyncio.shield(self._task)
                await asyncio.gather(*self._sending, return_exceptions=True)
        except TimeoutError:
            for task in (self._task, *self._sending):
                task.cancel()
            await asyncio.gather(self._task, *self._sending, return_exceptions=True)
        self._task = None

    def wake(self) -> None:
        """A restock queued messages: look at the outbox now rather than at the next poll."""
        self._wakeup.set()

    async def wait_until_idle(self, limit_seconds: float = 30.0) -> None:
        """Return once every notification is sent or failed (for tests and benchmarks)."""
        async with asyncio.timeout(limit_seconds):
            while await self._outbox.pending_count() or self._sending:
                self._wakeup.set()
                await asyncio.sleep(0.01)

    async def deliver_due(self) -> int:
        """Claim one batch of due notifications and start sending it; return its size."""
        deliveries = await self._outbox.claim_due(self._batch_size, self._lease)
        claimed_at = _now()
        half_lease = self._lease.total_seconds() / 2
        self._forget_idle_chats()
        for index, delivery in enumerate(deliveries):
            paused = self._pacer.background_paused_for()
            if self._stopping or paused > half_lease or _now() - claimed_at > half_lease:
                # Don't sit on claimed rows until the lease runs out and another
                # process takes them too: hand them back now.
                rest = [d.id for d in deliveries[index:]]
                await self._outbox.postpone(rest, timedelta(seconds=paused))
                break
            chat_wait = self._chat_free_at.get(delivery.chat_id, 0.0) - _now()
            if chat_wait > 0:
                # One message a second per chat; the outbox keeps it meanwhile.
                delay = min(chat_wait, PER_CHAT_INTERVAL)
                await self._outbox.postpone([delivery.id], timedelta(seconds=delay))
                continue
            await self._slots.acquire()
            self._chat_free_at[delivery.chat_id] = math.inf  # until the send is done
            # The bot's rate limiter spaces the sends (BACKGROUND: after any reply).
            task = asyncio.create_task(self._send(delivery))
            self._sending.add(task)
            task.add_done_callback(self._sent)
        # No waiting for this batch's last sends: the next claim overlaps them, so the
        # pace never stalls between batches.
        return len(deliveries)

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                claimed = await self.deliver_due()
            except Exception:
                # The database may be restarting: keep the bot up and try again.
                logger.exception("Delivering notifications failed; retrying shortly")
                claimed = 0
            if claimed == 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)

    async def _send(self, delivery: Delivery) -> None:
        try:
            await self._send_once(delivery)
        finally:
            self._chat_free_at[delivery.chat_id] = _now() + PER_CHAT_INTERVAL

    async def _send_once(self, delivery: Delivery) -> None:
        try:
            await self._bot.send_message(
                delivery.chat_id, delivery.text, rate_limit_args=BACKGROUND
            )
        except RetryAfter as error:
            delay = retry_after_seconds(error)
            logger.warning("Flood control: pausing notifications for %.1f s", delay)
            self._pacer.pause_background(delay)
            await self._outbox.postpone([delivery.id], timedelta(seconds=delay))
        except Forbidden as error:
            # Blocked the bot or deleted the account: trying again won't help.
            await self._outbox.mark_failed(delivery.id, error.message, unreachable=True)
        except BadRequest as error:
            unreachable = "chat not found" in error.message.lower()
            await self._outbox.mark_failed(delivery.id, error.message, unreachable)
        except NetworkError as error:
            delay = min(self._retry_base_delay * 2 ** (delivery.attempts - 1), MAX_RETRY_DELAY)
            logger.warning("Notification %s not sent (%s); retrying", delivery.id, error)
            await self._outbox.retry_later(delivery.id, str(error), timedelta(seconds=delay))
        else:
            await self._outbox.mark_sent(delivery.id)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._slots.release()
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("Recording a notification's outcome failed", exc_info=error)

    def _forget_idle_chats(self) -> None:
        now = _now()
        self._chat_free_at = {
            chat: free_at for chat, free_at in self._chat_free_at.items() if free_at > now
        }


def _now() -> float:
    return asyncio.get_running_loop().time()
