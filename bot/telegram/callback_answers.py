"""Stopping a button's spinner, once more when Telegram fails it for a moment.

Telegram takes an answer to a press for a limited time only (about 15 s after it). An
answer it refuses for now (a 5xx, a dropped connection, a timeout, a 429) is asked again
while the press is young, at most twice and never past that life, by the rule the set-up
calls follow (until_accepted.attempt); one it refuses for good (400: too old, answered
already) is not asked again.
"""

import asyncio
import logging
import time

from telegram import CallbackQuery
from telegram.error import TelegramError

from bot.telegram.until_accepted import attempt

logger = logging.getLogger(__name__)

CALLBACK_LIFE_SECONDS = 15.0
RETRIES = 2
FIRST_RETRY_SECONDS = 0.5


class _Answer:
    """The answer to one press, as until_accepted's Request; keeps Telegram's last refusal."""

    def __init__(self, query: CallbackQuery, text: str | None, show_alert: bool) -> None:
        self._query = query
        self._text = text
        self._show_alert = show_alert
        self.refusal: TelegramError | None = None

    async def send(self) -> None:
        try:
            await self._query.answer(self._text, show_alert=self._show_alert)
        except TelegramError as error:
            self.refusal = error
            raise
        self.refusal = None

    def accepted(self) -> None:
        pass

    def refused(self, reason: str) -> None:
        pass  # the caller says what it means: it gets the refusal raised

    def postponed(self, reason: str, wait: float) -> None:
        logger.info("Callback query not answered for now: %s", reason)


async def answer_while_young(
    query: CallbackQuery, pressed_at: float, text: str | None = None, show_alert: bool = False
) -> None:
    """Answer the press (pressed_at: time.monotonic() when it came in); Telegram's last
    refusal is raised when it stays unanswered."""
    answer = _Answer(query, text, show_alert)
    wait = await attempt(answer, FIRST_RETRY_SECONDS)
    for _ in range(RETRIES):
        if wait is None or time.monotonic() + wait >= pressed_at + CALLBACK_LIFE_SECONDS:
            break
        await asyncio.sleep(wait)
        wait = await attempt(answer, 2 * wait)
    if answer.refusal is not None:
        raise answer.refusal
