"""Keeping every message the bot sends under Telegram's flood limits.

Telegram allows a bot about 30 messages per second in all and about one per second in
any one chat. One Pacer spaces all of the bot's messages. Replies to readers take the
next free slot at once; the notification dispatcher's messages wait for a slot no reply
wants, so a broadcast never slows the chat down. A 429 pauses only the broadcast.
"""

import asyncio
import functools
import heapq
import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.flood_budget.ledger import Booking, SharedFloodBudget
from bot.delivery.flood_limits import WINDOW_SECONDS
from bot.delivery.telegram_errors import retry_after_seconds

logger = logging.getLogger(__name__)

# rate_limit_args value that marks a request as part of a broadcast, already paced.
BACKGROUND = "background"
# Bot API methods that count as messages for the flood limits.
MESSAGE_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendPhoto", "sendDocument", "copyMessage"}
)
# A reply hit by a 429 waits and tries once more if the wait is this short.
REPLY_RETRY_LIMIT = 5.0
DEFAULT_MESSAGES_PER_SECOND = 29.0
# At a paid broadcast's 1000 a second, timers fire later than the 1 ms interval: the
# cadence catches up on slots missed within this long (never past the rate in a second).
CATCH_UP_SECONDS = 0.02
# Unpaced Bot API requests (spinner answers, mostly) under way at once: a few keep-alive
# connections carry a burst. Each answer waits a round trip to Telegram, whose own process
# takes them as they come; with 4 at once the bot waited on those round trips: 400 presses
# within 0.11 s had spinner p99 1.9 s with 16, 3.9 s with 4, and the bot spent less CPU
# (bench/burst.py, the fake Bot API in its own process, a loaded 2-core machine).
# Messages don't wait here: they keep the pacer's spacing on the wire.
MAX_UNPACED_IN_FLIGHT = 16


class Turn:
    """A message's place in the pacer's last second: from when it was let go until
    Telegram has answered it (it may arrive any time before that), or for a broadcast
    turn, from when it was let go."""

    def __init__(self, at: float, on_done: Callable[[bool], None] | None = None) -> None:
        self.at = at
        self._on_done = on_done

    def done(self, answered: bool = True) -> None:
        """The send is over. answered=False when it timed out: the request may still
        reach Telegram a little later, so the shared budget counts it a while longer."""
        self.at = min(self.at, loop_time())
        if self._on_done is not None:
            self._on_done(answered)
        self._on_done = None


class ChatBusy(Exception):
    """The chat has had a message within the second (from any process of the bot)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"chat busy for {wait:.2f} s")
        self.wait = wait


class Pacer:
    """Hands out turns to send, one interval apart as planned; and since timers fire late
    when the event loop is busy (then several planned turns come due at once) and a busy
    process sends a little late, never more than the rate in any one second, counting a
    reply until Telegram has answered it."""

    def __init__(
        self,
        messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND,
        budget: SharedFloodBudget | None = None,
    ) -> None:
        # With a shared budget, every turn is also booked there, against the messages of
        # the bot's other processes (bot/delivery/flood_budget/).
        self.budget = budget
        self.interval = 1 / messages_per_second
        self._next_slot = 0.0
        self._background_resumes = 0.0
        self._background_turns = asyncio.Lock()
        self._per_window = max(1, math.floor(messages_per_second))
        self._recent: list[Turn] = []
        self._replies_waiting = 0

    async def reply_turn(self, chat_id: int | None = None) -> Turn:
        """Wait for the next free slot (at most one interval when a broadcast runs);
        call the turn's done() once the send is over."""
        self._replies_waiting += 1
        try:
            now = loop_time()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            booking = None
            if self.budget is not None:
                booking = await self.budget.book_reply(chat_id)
                await asyncio.sleep(booking.wait)
            while True:
                now = loop_time()
                opens = self._window_opens(now)
                if opens <= now:
                    break
                await asyncio.sleep(opens - now)
            return self._take(math.inf, booking)
        finally:
            self._replies_waiting -= 1

    async def background_turn(
        self, deadline: float = math.inf, chat_id: int | None = None
    ) -> Turn | None:
        """Wait for a slot that no reply has taken and for any 429 pause to end; None,
        without a slot, if none comes by deadline (event-loop time). Raises ChatBusy
        when the shared budget finds the chat had a message within the second."""
        async with self._background_turns:
            while True:
                now = loop_time()
                planned = max(self._next_slot, self._background_resumes, self._window_opens(now))
                if planned <= now and not self._replies_waiting:
                    booking = None
                    if self.budget is not None and chat_id is not None:
                        booking = await self.budget.book_broadcast(chat_id)
                        if booking.chat_busy:
                            raise ChatBusy(booking.wait)
                        if not booking.granted:
                            # Another process's message or a reply booked ahead.
                            if loop_time() + booking.wait > deadline:
                                return None
                            await asyncio.sleep(booking.wait)
                            continue
                        now = loop_time()
                    # Keep the cadence from the planned slot, so that timers firing a
                    # little late don't add up over a long broadcast; after a pause,
                    # start afresh from now.
                    late = now - planned
                    start = planned if late < max(self.interval, CATCH_UP_SECONDS) else now
                    self._next_slot = start + self.interval
                    return self._take(now, booking)
                if planned > deadline:
                    return None
                # A reply may take this slot while we sleep: look again on waking. (A
                # reply whose slot has come is let run first.)
                await asyncio.sleep(max(0.0, planned - now))

    def pause_background(self, seconds: float) -> None:
        self._background_resumes = max(self._background_resumes, loop_time() + seconds)

    def _take(self, at: float, booking: Booking | None = None) -> Turn:
        on_done = None
        if self.budget is not None and booking is not None and booking.slot_id is not None:
            on_done = functools.partial(self.budget.done, booking.slot_id)
        turn = Turn(at, on_done)
        self._recent.append(turn)
        return turn

    def _window_opens(self, now: float) -> float:
        """When the last second will have room for one more turn (a reply still under
        way holds its place; look again an interval later)."""
        self._recent = [turn for turn in self._recent if turn.at > now - WINDOW_SECONDS]
        excess = len(self._recent) - self._per_window
        if excess < 0:
            return -math.inf
        oldest = heapq.nsmallest(excess + 1, (turn.at for turn in self._recent))[-1]
        return oldest + WINDOW_SECONDS if oldest < math.inf else now + self.interval

    def background_paused_for(self) -> float:
        return max(0.0, self._background_resumes - loop_time())


class PacedRateLimiter(BaseRateLimiter[str]):
    """PTB's hook on every Bot API request, spacing messages through a Pacer."""

    def __init__(self, pacer: Pacer, max_unpaced_in_flight: int = MAX_UNPACED_IN_FLIGHT) -> None:
        self.pacer = pacer
        self._unpaced_in_flight = asyncio.Semaphore(max_unpaced_in_flight)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint not in MESSAGE_METHODS:
            async with self._unpaced_in_flight:
                return await callback(*args, **kwargs)
        if rate_limit_args == BACKGROUND:
            # The dispatcher took its turn (Pacer.background_turn) before calling, and
            # handles its own 429s: it knows what to give back.
            return await callback(*args, **kwargs)
        chat = chat_of(data)
        try:
            return await self._paced(callback, args, kwargs, chat)
        except RetryAfter as error:
            delay = retry_after_seconds(error)
            self.pacer.pause_background(delay)
            if delay > REPLY_RETRY_LIMIT:
                raise
            logger.warning("Flood control on a reply: waiting %.1f s", delay)
            await asyncio.sleep(delay)
            return await self._paced(callback, args, kwargs, chat)

    async def _paced(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        chat_id: int | None = None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        turn = await self.pacer.reply_turn(chat_id)
        try:
            return await callback(*args, **kwargs)
        finally:
            turn.done()


def chat_of(data: dict[str, Any]) -> int | None:
    """The chat a request goes to, if named by id (not "@channel", not inline)."""
    try:
        return int(data["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


def loop_time() -> float:
    """The running event loop's clock, which asyncio's sleeps and timeouts use."""
    return asyncio.get_running_loop().time()
