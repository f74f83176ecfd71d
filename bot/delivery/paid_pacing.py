"""Turns for paid broadcasts: up to 1000 messages a second, many sends under way at once.

The Pacer (bot/delivery/pacing.py) hands out one turn at a time under a lock, each
waiter woken by the one before: one turn per pass of the event loop. At the free 29 a
second that is plenty; at 1000 a second, with a hundred sends' answers to read, a pass
takes a few milliseconds and held a paid broadcast near 300 a second. Here each send
books its slot when it asks and sleeps until then, so every slot that comes due in one
pass is let go in that pass.

A message holds its place in the last second from when it is let go until a second
after Telegram answered it: Telegram counts it on arrival, somewhere in between, so no
one second of arrivals can hold more than the rate, however the answers are delayed.
"""

import asyncio
import math
from collections import deque

from bot.delivery.flood_limits import WINDOW_SECONDS
from bot.delivery.pacing import CATCH_UP_SECONDS, Turn, loop_time


class PaidPacer:
    """The Pacer's broadcast side (background_turn, pause_background) for paid messages,
    which no reply competes with: they have Telegram's paid limit to themselves."""

    def __init__(self, messages_per_second: float) -> None:
        self.interval = 1 / messages_per_second
        self._per_window = max(1, math.floor(messages_per_second))
        self._next_slot = 0.0
        self._resumes = 0.0
        self._under_way = 0
        self._answered: deque[float] = deque()  # answer times, oldest first

    async def background_turn(
        self, deadline: float = math.inf, chat_id: int | None = None
    ) -> Turn | None:
        """Wait for this message's slot, any 429 pause and room in the last second; None,
        without a turn, if that is past deadline (event-loop time)."""
        while True:
            now = loop_time()
            # Slots missed by late timers within CATCH_UP_SECONDS are still used: the
            # window below keeps any one second within the rate.
            slot = max(self._next_slot, self._resumes, now - CATCH_UP_SECONDS)
            if slot > deadline:
                return None
            self._next_slot = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            while (now := loop_time()) >= self._resumes:
                opens = self._window_opens(now)
                if opens <= now:
                    self._under_way += 1
                    return Turn(now, self._answered_now)
                if opens > deadline:
                    return None
                await asyncio.sleep(opens - now)
            # A 429 paused the broadcast while this send waited: book a slot after it.

    def pause_background(self, seconds: float) -> None:
        self._resumes = max(self._resumes, loop_time() + seconds)

    def background_paused_for(self) -> float:
        return max(0.0, self._resumes - loop_time())

    def _answered_now(self, answered: bool) -> None:
        # A request that timed out was cut off: from now on it can't be on its way any
        # more than an answered one, so it frees its place the same way.
        self._under_way -= 1
        self._answered.append(loop_time())

    def _window_opens(self, now: float) -> float:
        """When the last second will have room for one more message."""
        while self._answered and self._answered[0] <= now - WINDOW_SECONDS:
            self._answered.popleft()
        if self._under_way + len(self._answered) < self._per_window:
            return -math.inf
        if self._answered:
            return self._answered[0] + WINDOW_SECONDS
        return now + self.interval  # every place held by a send still under way
