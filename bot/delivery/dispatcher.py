"""Delivers the notification outbox through Telegram, paced, surviving restarts.

Runs inside the bot process: started after the bot connects, stopped before it
disconnects. It wakes at once after a restock and also polls, so it delivers what an
earlier process left pending and shares the work with other bot processes.

Only a refusal meant for one chat (400, 403) fails a message. Anything else that keeps a
message from Telegram (network errors, timeouts, 5xx) pauses delivery as a whole, the
message given back, until a probe finds Telegram answering again; a message is given up
only when it is older than max_age.

This module is the loop and its lifecycle; each of its other jobs has a module of its
own beside it.
"""

import asyncio
import contextlib
import logging
import math
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup
from telegram.error import TelegramError, TimedOut
from telegram.ext import ExtBot

from bot.delivery.chat_spacing import ChatSpacing, look_again_in
from bot.delivery.claims import Claim
from bot.delivery.in_flight import SendsInFlight
from bot.delivery.modes import DeliveryMode, FreeMode
from bot.delivery.old_messages import OldMessages
from bot.delivery.outcome_records import OutcomeRecords
from bot.delivery.pacing import BACKGROUND, ChatBusy, Pacer, Turn, loop_time
from bot.delivery.paid_mode import PaidMode
from bot.delivery.telegram_errors import (
    FloodControl,
    Refused,
    SendOutcome,
    TelegramTrouble,
    outcome_of,
)
from bot.delivery.telegram_probe import TelegramReachability
from bot.delivery.tuning import DispatcherTuning
from bot.notifications.outbox import Outbox
from bot.notifications.schemas import Delivery

logger = logging.getLogger(__name__)

T = TypeVar("T")


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
        self._records = OutcomeRecords(outbox)
        # Free messages take the pacer the replies take; paid ones have their own.
        self._mode: DeliveryMode = (
            PaidMode(tuning.paid_messages_per_second, tuning.paid_max_in_flight, self._records)
            if tuning.paid_broadcast
            else FreeMode(pacer, tuning.max_in_flight, self._records)
        )
        self._pacer = self._mode.pacer
        self._poll_interval = tuning.poll_interval
        self._lease = tuning.lease
        # Claim about two seconds of sending (less with a short lease): little to hand
        # over if we stop, and long done before the lease ends and others may take it.
        seconds_per_batch = min(2.0, self._lease.total_seconds() / 4)
        self._batch_size = max(1, math.floor(seconds_per_batch / self._pacer.interval))
        self._old_messages = OldMessages(outbox, tuning.max_age)
        self.reachability = TelegramReachability(tuning.first_probe_delay, tuning.max_probe_delay)
        self._in_flight = SendsInFlight(self._mode.max_in_flight)
        self._chats = ChatSpacing()
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._waits: set[asyncio.Future[Any]] = set()  # under way in _unless_stopped
        self._task: asyncio.Task[None] | None = None

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
                await self._in_flight.finish()
                await asyncio.gather(*self._mode.recording, return_exceptions=True)
        except TimeoutError:
            # Like a crash: what was claimed returns to the outbox when its lease ends.
            tasks = (self._task, *self._in_flight.tasks, *self._mode.recording)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    def wake(self) -> None:
        """A restock queued messages: look at the outbox now rather than at the next poll."""
        self._wakeup.set()

    @property
    def under_way(self) -> bool:
        """Whether sends, or writes of their outcomes, are still going on."""
        return bool(self._in_flight.tasks or self._mode.recording)

    async def deliver_due(self) -> int:
        """Claim one batch of due notifications and start sending it; return how many
        the claim dealt with, those it marked obsolete or failed as unreachable
        included: a batch of only those is no sign that nothing more is due."""
        claim = Claim.starting_now(self._lease)
        claimed = await self._outbox.claim(self._batch_size, self._lease)
        deliveries = claimed.deliveries
        self._chats.forget_idle()
        for index, delivery in enumerate(deliveries):
            chat_wait = self._chats.wait(delivery.chat_id)
            if chat_wait > 0 and self._may_send(claim):
                # One message a second per chat; the outbox keeps it meanwhile.
                await self._give_back([delivery], claim, look_again_in(chat_wait))
                continue
            if not await self._take_place(claim):
                await self._give_back(deliveries[index:], claim)
                break
            self._chats.sending(delivery.chat_id)
            self._in_flight.start(self._send(delivery, claim))
        # No waiting for this batch's last sends: the next claim overlaps them, so the
        # pace never stalls between batches.
        return claimed.dealt_with

    async def _run(self) -> None:
        while not self._stop_requested.is_set():
            self._wakeup.clear()
            paused = self._pacer.background_paused_for()
            if paused > 0:
                # Flood control: claiming now would only hand rows back again.
                await self._sleep(self._stop_requested, paused)
                continue
            try:
                await self._old_messages.give_up_if_due()
                if not self.reachability.reachable:
                    await self._sleep(self._stop_requested, self.reachability.next_probe_in())
                    if not self._stop_requested.is_set():
                        await self.reachability.probe(self._bot, self._send_one_due)
                    continue
                claimed = await self.deliver_due()
            except Exception:
                # The database may be restarting: keep the bot up and try again.
                logger.exception("Delivering notifications failed; retrying shortly")
                claimed = 0
            if claimed == 0:
                if not self._in_flight.tasks:
                    self._mode.caught_up()
                await self._sleep(self._wakeup, self._poll_interval)

    async def _send_one_due(self) -> bool:
        """The probe's message, if one is due; whether there was one."""
        claim = Claim.starting_now(self._lease)
        deliveries = await self._outbox.claim_due(1, self._lease)
        if deliveries:
            await self._send(deliveries[0], claim, probing=True)
        return bool(deliveries)

    async def _send(self, delivery: Delivery, claim: Claim, probing: bool = False) -> None:
        try:
            try:
                turn = await self._unless_stopped(
                    self._pacer.background_turn(claim.send_by, delivery.chat_id)
                )
            except ChatBusy as busy:
                # Another process just sent this chat a message: one a second per chat.
                await self._give_back([delivery], claim, look_again_in(busy.wait))
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
            self._chats.sent(delivery.chat_id)

    async def _send_now(self, delivery: Delivery, claim: Claim, turn: Turn) -> None:
        answered = True
        try:
            try:
                await self._bot.send_message(
                    delivery.chat_id,
                    delivery.text,
                    reply_markup=_markup(delivery.reply_markup),
                    rate_limit_args=BACKGROUND,
                    allow_paid_broadcast=self._mode.allow_paid_broadcast,
                )
            except TimedOut:
                answered = False  # it may yet reach Telegram, beside its resend
                raise
            finally:
                turn.done(answered)
        except TelegramError as error:
            await self._not_sent(outcome_of(error), delivery, claim)
        else:
            self.reachability.answered()
            await self._mode.sent(delivery, claim)

    async def _not_sent(self, outcome: SendOutcome, delivery: Delivery, claim: Claim) -> None:
        """Telegram did not take the message: wait, fail it, or wait for Telegram."""
        match outcome:
            case FloodControl(delay=delay):
                self.reachability.answered()
                logger.warning("Flood control: pausing notifications for %.1f s", delay)
                self._pacer.pause_background(delay)
                await self._give_back([delivery], claim, delay)
            case Refused(reason=reason, unreachable=unreachable):
                self.reachability.answered()
                await self._records.failed(delivery, reason, unreachable, claim)
            case TelegramTrouble(reason=reason):
                self.reachability.lost(reason)
                # Due at the next probe, after the rows due already: one chat's odd 5xx
                # can't make every probe fail.
                await self._give_back([delivery], claim, self.reachability.probe_delay)

    def _may_send(self, claim: Claim, probing: bool = False) -> bool:
        """Checked after every wait: a send must start in time, and only while running,
        recording and (unless this is the probe) Telegram answering."""
        return (
            not self._stop_requested.is_set()
            and not self._records.failing
            and (probing or self.reachability.reachable)
            and loop_time() <= claim.send_by
        )

    async def _take_place(self, claim: Claim) -> bool:
        """A sending place, if it comes while a send may still start."""
        if not self._may_send(claim):
            return False
        if not await self._unless_stopped(self._in_flight.take_place()):
            return False
        if self._may_send(claim):
            return True
        self._in_flight.give_back_place()
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
        await self._records.given_back(deliveries, claim, wait)

    @staticmethod
    async def _sleep(event: asyncio.Event, seconds: float) -> None:
        """Sleep, or less if the event is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


def _markup(reply_markup: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    """The buttons stored with a message (holds' "Don't need it"), as PTB sends them."""
    return None if reply_markup is None else InlineKeyboardMarkup.de_json(reply_markup, None)
