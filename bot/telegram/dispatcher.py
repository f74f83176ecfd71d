"""Delivers the notification outbox through Telegram, paced, surviving restarts.

Runs inside the bot process: started after the bot connects, stopped before it
disconnects. It wakes at once after a restock and also polls, so it delivers what an
earlier process left pending and shares the work with other bot processes.
"""

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.notifications.outbox import Outbox
from bot.notifications.schemas import Delivery
from bot.telegram.pacing import (
    BACKGROUND,
    PER_CHAT_INTERVAL,
    Pacer,
    loop_time,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY = 300.0
# Margin kept before a lease ends: past it, a claimed row is no longer ours to send.
LEASE_MARGIN_SECONDS = 1.0


@dataclass(frozen=True)
class DispatcherTuning:
    """How often to look, how long a claim lasts, how many sends at once, how to back off."""

    poll_interval: float = 2.0
    lease: timedelta = timedelta(seconds=30)
    max_in_flight: int = 8
    retry_base_delay: float = 2.0


@dataclass(frozen=True)
class Claim:
    """A claimed batch's deadlines, in event-loop time."""

    send_by: float  # a send not started by then is given back
    record_by: float  # an outcome not written by then is left to the lease's end


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
        self._stop_requested = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._chat_free_at: dict[int, float] = {}
        self._outcomes_failing = False

    def start(self) -> None:
        self._stop_requested.clear()
        self._task = asyncio.create_task(self._run(), name="notification-dispatcher")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the messages in flight, hand the rest back to the outbox, and end."""
        self._stop_requested.set()
        self._wakeup.set()
        if self._task is None:
            return
        try:
            async with asyncio.timeout(grace_seconds):
                await asyncio.shield(self._task)
                await asyncio.gather(*self._sending, return_exceptions=True)
        except TimeoutError:
            # Like a crash: what was claimed returns to the outbox when its lease ends.
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
        lease = self._lease.total_seconds()
        claim = Claim(
            send_by=loop_time() + lease / 2, record_by=loop_time() + lease - LEASE_MARGIN_SECONDS
        )
        self._forget_idle_chats()
        for index, delivery in enumerate(deliveries):
            if self._stop_requested.is_set() or self._outcomes_failing:
                await self._give_back(deliveries[index:], 0.0, claim)
                break
            chat_wait = self._chat_free_at.get(delivery.chat_id, 0.0) - loop_time()
            if chat_wait > 0:
                # One message a second per chat; the outbox keeps it meanwhile.
                await self._give_back([delivery], min(chat_wait, PER_CHAT_INTERVAL), claim)
                continue
            await self._slots.acquire()
            self._chat_free_at[delivery.chat_id] = math.inf  # until the send is done
            task = asyncio.create_task(self._send(delivery, claim))
            self._sending.add(task)
            task.add_done_callback(self._sent)
        # No waiting for this batch's last sends: the next claim overlaps them, so the
        # pace never stalls between batches.
        return len(deliveries)

    async def _run(self) -> None:
        while not self._stop_requested.is_set():
            self._wakeup.clear()
            paused = self._pacer.background_paused_for()
            if paused > 0:
                # Flood control: claiming now would only hand rows back again.
                await self._sleep(self._stop_requested, paused)
                continue
            try:
                claimed = await self.deliver_due()
            except Exception:
                # The database may be restarting: keep the bot up and try again.
                logger.exception("Delivering notifications failed; retrying shortly")
                claimed = 0
            if claimed == 0:
                await self._sleep(self._wakeup, self._poll_interval)

    async def _send(self, delivery: Delivery, claim: Claim) -> None:
        try:
            if not await self._pacer.background_turn(deadline=claim.send_by):
                # Paused past half the lease: give it back rather than risk the lease
                # running out mid-send and another process sending it too.
                delay = self._pacer.background_paused_for()
                await self._give_back([delivery], delay, claim)
                return
            await self._send_now(delivery, claim)
        finally:
            self._chat_free_at[delivery.chat_id] = loop_time() + PER_CHAT_INTERVAL

    async def _send_now(self, delivery: Delivery, claim: Claim) -> None:
        outbox = self._outbox
        try:
            await self._bot.send_message(
                delivery.chat_id, delivery.text, rate_limit_args=BACKGROUND
            )
        except RetryAfter as error:
            delay = retry_after_seconds(error)
            logger.warning("Flood control: pausing notifications for %.1f s", delay)
            self._pacer.pause_background(delay)
            await self._give_back([delivery], delay, claim)
        except Forbidden as error:
            # Blocked the bot or deleted the account: trying again won't help.
            message = error.message
            await self._record(lambda: outbox.mark_failed(delivery, message, True), claim)
        except BadRequest as error:
            message = error.message
            unreachable = "chat not found" in message.lower()
            await self._record(lambda: outbox.mark_failed(delivery, message, unreachable), claim)
        except TelegramError as error:
            # Network errors, timeouts and the rare others: back off and try again.
            reason, backoff = str(error), timedelta(seconds=self._backoff(delivery))
            logger.warning("Notification %s not sent (%s); retrying", delivery.id, reason)
            await self._record(lambda: outbox.retry_later(delivery, reason, backoff), claim)
        else:
            await self._record(lambda: outbox.mark_sent(delivery), claim)

    async def _give_back(self, deliveries: Sequence[Delivery], delay: float, claim: Claim) -> None:
        await self._record(
            lambda: self._outbox.give_back(deliveries, timedelta(seconds=delay)), claim
        )

    async def _record(self, write: Callable[[], Awaitable[None]], claim: Claim) -> None:
        """Write an outcome, retrying through a database hiccup while the claim lasts: a
        sent message whose outcome is lost would be sent again after the lease."""
        delay = 0.1
        while True:
            try:
                await write()
            except Exception:
                self._outcomes_failing = True  # send nothing new until writes work again
                if loop_time() + delay > claim.record_by:
                    logger.exception("Could not record a notification's outcome in time")
                    return
                logger.warning("Recording a notification's outcome failed; retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self._outcomes_failing = False
                return

    def _backoff(self, delivery: Delivery) -> float:
        growth: float = 2.0 ** (delivery.attempts - 1)
        return min(self._retry_base_delay * growth, MAX_RETRY_DELAY)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._slots.release()
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("Sending a notification failed unexpectedly", exc_info=error)

    def _forget_idle_chats(self) -> None:
        now = loop_time()
        self._chat_free_at = {
            chat: free_at for chat, free_at in self._chat_free_at.items() if free_at > now
        }

    @staticmethod
    async def _sleep(event: asyncio.Event, seconds: float) -> None:
        """Sleep, or less if the event is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
