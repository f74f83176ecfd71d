"""Whether Telegram answers the dispatcher's sends, and how patiently to probe when not.

A network error, a timeout or a 5xx is Telegram's trouble, not the reader's: delivery
pauses as a whole and one probe at a time finds out when Telegram is back, waiting
longer after each failed probe, up to a cap that keeps the resume within a minute.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from telegram import Bot
from telegram.error import TelegramError

logger = logging.getLogger(__name__)


class TelegramReachability:
    def __init__(self, first_probe_delay: float, max_probe_delay: float) -> None:
        self._first_probe_delay = first_probe_delay
        self._max_probe_delay = max_probe_delay
        self._probe_delay = first_probe_delay
        self.unreachable_since: datetime | None = None

    @property
    def reachable(self) -> bool:
        return self.unreachable_since is None

    def lost(self, reason: str) -> None:
        """A send found Telegram unreachable (sends already under way may say so again)."""
        if self.unreachable_since is None:
            logger.warning("Telegram unreachable (%s): notifications paused", reason)
            self.unreachable_since = datetime.now(UTC)
            self._probe_delay = self._first_probe_delay

    def answered(self) -> None:
        """Telegram answered a send, whatever it said."""
        if self.unreachable_since is not None:
            logger.warning("Telegram answers again: notifications resume")
            self.unreachable_since = None

    @property
    def probe_delay(self) -> float:
        """The wait before the next probe."""
        return self._probe_delay

    def next_probe_in(self) -> float:
        """Seconds to wait before the next probe; each call doubles the following wait."""
        delay = self._probe_delay
        self._probe_delay = min(delay * 2, self._max_probe_delay)
        return delay

    async def probe(self, bot: Bot, send_one_due: Callable[[], Awaitable[bool]]) -> None:
        """While Telegram is unreachable: send one due message (send_one_due says whether
        there was one), which tells whether it is back; with none due, ask Telegram who
        we are."""
        if await send_one_due():
            return
        try:
            await bot.get_me()
        except TelegramError:
            return
        self.answered()
