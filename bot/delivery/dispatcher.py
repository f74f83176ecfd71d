"""Delivers the notification outbox through Telegram, paced, surviving restarts.

Runs inside the bot process: started after the bot connects, stopped before it
disconnects. It wakes at once after a restock and also polls, so it delivers what an
earlier process left pending and shares the work with other bot processes.

Only a refusal meant for one chat (400, 403) fails a message. Anything else that keeps a
message from Telegram (network errors, timeouts, 5xx) pauses delivery as a whole, the
message given back, until a probe finds Telegram answering again; a message is given up
only when it is older than max_age.
"""

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from bot.delivery.pacing import (
    BACKGROUND,
    PER_CHAT_INTERVAL,
    ChatBusy,
    Pacer,
    Turn,
    loop_time,
    retry_after_seconds,
)
from bot.delivery.paid_pacing import PaidPacer
from bot.delivery.telegram_probe import TelegramReachability
from bot.notifications.outbox import Outbox
from bot.notifications.schemas import Delivery

logger = logging.getLogger(__name__)

# Margin kept before a lease ends: past it, a claimed row is no longer ours to send.
LEASE_MARGIN_SECONDS = 1.0
# Paid broadcasts record their sent messages together, this often: one write a message
# can't keep up with 1000 a second. A crash may then repeat this long's messages.
PAID_RECORD_SECONDS = 0.1
# How often to look for messages older than max_age.
EXPIRY_CHECK_SECONDS = 60.0
T = TypeVar("T")


@dataclass(frozen=True)
class DispatcherTuning:
    """How often to look, how long a claim lasts, how many sends at once, how to probe
    Telegram while it is unreachable, when to give a message up."""

    poll_interval: float = 2.0
    lease: timedelta = timedelta(seconds=30)
    max_in_flight: int = 8
    first_probe_delay: float = 1.0
    # Under a minute, so that delivery resumes within a minute of Telegram's return.
    max_probe_delay: float = 50.0
    max_age: timedelta = timedelta(days=3)
    # Paid broadcasts (allow_paid_broadcast): Telegram lets a bot send up to 1000
    # messages a second, charging Stars for those beyond the free limit.
    paid_broadcast: bool = False
    paid_messages_per_second: float = 1000.0
    # Enough sends under way to keep up the paid rate while each waits for its answer.
    paid_max_in_flight: int = 100


@dataclass(frozen=True)
class Claim:
    """A claimed batch's deadlines, in event-loop time."""

    send_by: float  # a send not started by then is given back
    record_by: float  # an outcome not written by then is left to the lease's end


@dataclass
class SentBatch:
    """Paid messages sent, waiting to be recorded together."""

    sent: list[tuple[Delivery, Claim]] = field(default_factory=list)


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
        self._paid = tuning.paid_broadcast
        # Paid messages don't count against the free limit that replies use: they have
        # a pacer of their own (one per process).
        self._pacer: Pacer | PaidPacer = (
            PaidPacer(tuning.paid_messages_per_second) if self._paid else pacer
        )
        self.paid_sent = 0  # messages sent as paid broadcasts since the last log line
        in_flight = tuning.paid_max_in_flight if self._paid else tuning.max_in_flight
        self._poll_interval = tuning.poll_interval
        self._lease = tuning.lease
        # Claim about two seconds of sending (less with a short lease): little to hand
        # over if we stop, and long done before the lease ends and others may take it.
        seconds_per_batch = min(2.0, self._lease.total_seconds() / 4)
        self._batch_size = max(1, math.floor(seconds_per_batch / self._pacer.interval))
        self._max_age = tuning.max_age
        self.reachability = TelegramReachability(tuning.first_probe_delay, tuning.max_probe_delay)
        self._next_expiry_check = 0.0
        self._slots = asyncio.Semaphore(in_flight)
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._waits: set[asyncio.Future[Any]] = set()  # under way in _unless_stopped
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._chat_free_at: dict[int, float] = {}
        self._outcomes_failing = False
        self._open_batch: SentBatch | None = None
        self._recording: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._stop_requested.clear()
        self._task = asyncio.create_task(self._run(), name="notification-dispatcher")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Finish the sends under way, hand everything else back to the outbox, and end;
        within grace_seconds, leaving the rest of the platform's usual 10 s to the bot."""
        self._stop_requested.set()
        for wait in self._waits:
            wait.cancel()
        self._wakeup.set()
        if self._task is None:
            return
        try:
            async with asyncio.timeout(grace_seconds):
                await asyncio.shield(self._task)
                await asyncio.gather(*self._sending, return_exceptions=True)
                await asyncio.gather(*self._recording, return_exceptions=True)
        except TimeoutError:
            # Like a crash: what was claimed returns to the outbox when its lease ends.
            for task in (self._task, *self._sending, *self._recording):
                task.cancel()
            await asyncio.gather(
                self._task, *self._sending, *self._recording, return_exceptions=True
            )
        self._task = None

    def wake(self) -> None:
        """A restock queued messages: look at the outbox now rather than at the next poll."""
        self._wakeup.set()

    async def wait_until_idle(self, limit_seconds: float = 30.0) -> None:
        """Return once every notification is sent or failed (for tests and benchmarks)."""
        async with asyncio.timeout(limit_seconds):
            while await self._outbox.pending_count() or self._sending or self._recording:
                self._wakeup.set()
                await asyncio.sleep(0.01)

    async def deliver_due(self) -> int:
        """Claim one batch of due notifications and start sending it; return its size."""
        claim = self._claim()  # before the database's lease starts, so never later
        deliveries = await self._outbox.claim_due(self._batch_size, self._lease)
        self._forget_idle_chats()
        for index, delivery in enumerate(deliveries):
            chat_wait = self._chat_free_at.get(delivery.chat_id, 0.0) - loop_time()
            if chat_wait > 0 and self._may_send(claim):
                # One message a second per chat; the outbox keeps it meanwhile.
                await self._give_back([delivery], claim, min(chat_wait, PER_CHAT_INTERVAL))
                continue
            if not await self._take_slot(claim):
                await self._give_back(deliveries[index:], claim)
                break
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
                await self._give_up_old()
                if not self.reachability.reachable:
                    await self._sleep(self._stop_requested, self.reachability.next_probe_in())
                    if not self._stop_requested.is_set():
                        await self._probe()
                    continue
                claimed = await self.deliver_due()
            except Exception:
                # The database may be restarting: keep the bot up and try again.
                logger.exception("Delivering notifications failed; retrying shortly")
                claimed = 0
            if claimed == 0:
                self._log_paid()
                await self._sleep(self._wakeup, self._poll_interval)

    def _log_paid(self) -> None:
        """Once a paid broadcast is done: how many messages it sent, for the Stars bill."""
        if self.paid_sent and not self._sending:
            logger.info(
                "Sent %d notifications as paid broadcasts (0.1 Star each beyond the free limit)",
                self.paid_sent,
            )
            self.paid_sent = 0

    async def _probe(self) -> None:
        """While Telegram is unreachable: send one due message, which tells whether it is
        back; with none due, ask Telegram who we are."""
        claim = self._claim()
        deliveries = await self._outbox.claim_due(1, self._lease)
        if deliveries:
            await self._send(deliveries[0], claim, probing=True)
            return
        try:
            await self._bot.get_me()
        except TelegramError:
            return
        self.reachability.answered()

    async def _give_up_old(self) -> None:
        if loop_time() < self._next_expiry_check:
            return
        self._next_expiry_check = loop_time() + EXPIRY_CHECK_SECONDS
        given_up = await self._outbox.give_up_older_than(self._max_age)
        if given_up:
            logger.warning("Gave up %d notifications older than %s", given_up, self._max_age)

    async def _send(self, delivery: Delivery, claim: Claim, probing: bool = False) -> None:
        try:
            try:
                turn = await self._unless_stopped(
                    self._pacer.background_turn(claim.send_by, delivery.chat_id)
                )
            except ChatBusy as busy:
                # Another process just sent this chat a message: one a second per chat.
                await self._give_back([delivery], claim, min(busy.wait, PER_CHAT_INTERVAL))
                return
            if not turn or not self._may_send(claim, probing):
                # Paused past send_by, stopping, or Telegram away: give it back rather
                # than risk the lease running out mid-send and another process sending
                # it too.
                if turn:
                    turn.done()  # a paid turn holds its place in the second until done
                await self._give_back([delivery], claim)
                return
            await self._send_now(delivery, claim, turn)
        finally:
            self._chat_free_at[delivery.chat_id] = loop_time() + PER_CHAT_INTERVAL

    async def _send_now(self, delivery: Delivery, claim: Claim, turn: Turn) -> None:
        outbox = self._outbox
        answered = True
        try:
            try:
                await self._bot.send_message(
                    delivery.chat_id,
                    delivery.text,
                    reply_markup=_markup(delivery.reply_markup),
                    rate_limit_args=BACKGROUND,
                    allow_paid_broadcast=True if self._paid else None,
                )
            except TimedOut:
                answered = False  # it may yet reach Telegram, beside its resend
                raise
            finally:
                turn.done(answered)
        except RetryAfter as error:
            self.reachability.answered()
            delay = retry_after_seconds(error)
            logger.warning("Flood control: pausing notifications for %.1f s", delay)
            self._pacer.pause_background(delay)
            await self._give_back([delivery], claim, delay)
        except Forbidden as error:
            # Blocked the bot or deleted the account: trying again won't help.
            self.reachability.answered()
            message = error.message
            await self._record(lambda: outbox.mark_failed(delivery, message, True), claim)
        except (BadRequest, ChatMigrated) as error:
            # Refused for this chat or this text (BadRequest is a NetworkError in PTB,
            # so it is caught before Telegram's own trouble below).
            self.reachability.answered()
            message = error.message
            unreachable = "chat not found" in message.lower()
            await self._record(lambda: outbox.mark_failed(delivery, message, unreachable), claim)
        except TelegramError as error:
            # Network errors, timeouts, 5xx and the rare others: Telegram's trouble.
            self.reachability.lost(str(error))
            # Due at the next probe, after the rows due already: one chat's odd 5xx
            # can't make every probe fail.
            await self._give_back([delivery], claim, self.reachability.probe_delay)
        else:
            self.reachability.answered()
            if self._paid:
                self.paid_sent += 1
                self._record_sent_together(delivery, claim)
            else:
                await self._record(lambda: outbox.mark_sent(delivery), claim)

    def _record_sent_together(self, delivery: Delivery, claim: Claim) -> None:
        """Record a paid message sent along with the others sent within
        PAID_RECORD_SECONDS, while the next sends go on."""
        if self._open_batch is None:
            self._open_batch = SentBatch()
            task = asyncio.create_task(self._record_sent_batch(self._open_batch))
            self._recording.add(task)
            task.add_done_callback(self._recording.discard)
        self._open_batch.sent.append((delivery, claim))

    async def _record_sent_batch(self, batch: "SentBatch") -> None:
        await asyncio.sleep(PAID_RECORD_SECONDS)
        self._open_batch = None  # later sends start the next batch
        deliveries = [delivery for delivery, _ in batch.sent]
        earliest = min((claim for _, claim in batch.sent), key=lambda claim: claim.record_by)
        await self._record(lambda: self._outbox.mark_sent(*deliveries), earliest)

    def _claim(self) -> Claim:
        lease = self._lease.total_seconds()
        now = loop_time()
        return Claim(send_by=now + lease / 2, record_by=now + lease - LEASE_MARGIN_SECONDS)

    def _may_send(self, claim: Claim, probing: bool = False) -> bool:
        """Checked after every wait: a send must start in time, and only while running,
        recording and (unless this is the probe) Telegram answering."""
        return (
            not self._stop_requested.is_set()
            and not self._outcomes_failing
            and (probing or self.reachability.reachable)
            and loop_time() <= claim.send_by
        )

    async def _take_slot(self, claim: Claim) -> bool:
        """One of max_in_flight sending slots, if it comes while a send may still start."""
        if not self._may_send(claim):
            return False
        if not await self._unless_stopped(self._slots.acquire()):
            return False
        if self._may_send(claim):
            return True
        self._slots.release()
        return False

    async def _unless_stopped(self, waiting: Coroutine[Any, Any, T]) -> T | None:
        """Wait for something, or give up at once (None) when a stop is requested."""
        if self._stop_requested.is_set():
            waiting.close()
            return None
        # stop() cancels it: one task a wait, not one more watching for the stop (at a
        # paid broadcast's pace those took a seventh of the bot's CPU).
        task = asyncio.ensure_future(waiting)
        self._waits.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # cancelled itself, not only its wait
            return None
        finally:
            self._waits.discard(task)

    async def _give_back(
        self, deliveries: Sequence[Delivery], claim: Claim, delay: float | None = None
    ) -> None:
        """Return rows unsent and not counted; due when any 429 pause ends, unless given."""
        wait = self._pacer.background_paused_for() if delay is None else delay
        await self._record(
            lambda: self._outbox.give_back(deliveries, timedelta(seconds=wait)), claim
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


def _markup(reply_markup: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    """The buttons stored with a message (holds' "Don't need it"), as PTB sends them."""
    return None if reply_markup is None else InlineKeyboardMarkup.de_json(reply_markup, None)
