"""Telegram's flood control as the local Bot API applies it: the limits, and what it counts
to enforce them (the messages of the last second, each chat's allowance)."""

import math
from collections import deque
from dataclasses import dataclass, field
from typing import NoReturn

from bot.playground.telegram_rules import BotApiError


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood control: messages per second in all, and per chat.

    In a chat, Telegram asks for one message a second on average and tolerates short
    bursts above it ("we may allow short bursts that go over this limit, but eventually
    you'll begin receiving 429 errors", its Bots FAQ) without saying how long: a chat has
    per_chat_burst messages to spend at once, given back at per_chat_per_second. The
    default, 1, is the strictest reading: the tests check the bot's own pacing against
    it; TELEGRAM_LIMITS, the playground's, tolerates a burst as Telegram does."""

    per_second: int = 30
    per_chat_per_second: int = 1
    per_chat_burst: int = 1
    # Messages sent with allow_paid_broadcast: counted on their own, up to this many.
    paid_per_second: int = 1000


# Telegram publishes no burst size; three at once is the most the bot sends to answer one
# command (/demand: its text, chart and table), and a bot that keeps sending faster than
# one a second to a chat still meets 429 within seconds, as it would on Telegram.
TELEGRAM_LIMITS = FloodLimits(per_chat_burst=3)


@dataclass
class FloodCounts:
    """The messages accepted within the last second (paid ones apart), and per chat the
    messages it may still send at once and when that was counted."""

    _accepted: deque[float] = field(default_factory=deque)
    _accepted_paid: deque[float] = field(default_factory=deque)
    _chat_allowance: dict[int, tuple[float, float]] = field(default_factory=dict)

    def take(self, limits: FloodLimits, chat_id: int, paid: bool, now: float) -> None:
        """Count one message to the chat at now, or refuse it with Telegram's 429."""
        overall = _window(self._accepted_paid if paid else self._accepted, now)
        if len(overall) >= (limits.paid_per_second if paid else limits.per_second):
            _too_many(overall[0] + 1 - now)
        # A chat's allowance: up to the burst, given back at the per-chat rate.
        rate = limits.per_chat_per_second
        most = max(limits.per_chat_burst, rate)
        left, counted = self._chat_allowance.get(chat_id, (most, now))
        left = min(most, left + (now - counted) * rate)
        if left < 1:
            _too_many((1 - left) / rate)
        self._chat_allowance[chat_id] = (left - 1, now)
        overall.append(now)


def _too_many(wait: float) -> NoReturn:
    """Telegram's 429, with the whole seconds to wait (at least one)."""
    seconds = max(1, math.ceil(wait))
    raise BotApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


def _window(times: deque[float], now: float) -> deque[float]:
    """The times of the last second, older ones dropped."""
    while times and times[0] <= now - 1:
        times.popleft()
    return times
