"""Stopping a button's spinner, once more when Telegram fails it for a moment.

Telegram takes an answer to a press for a limited time only (about 15 s after it), and
no try starts or runs past that life. An answer Telegram refused for now (a 5xx, a
dropped connection, a 429) is asked again while the press is young, at most twice. One
that timed out is not: it may have been taken, and Telegram may be stalled. One refused
for good (400: too old, answered already) is not asked again; a 400 to a retry after a
try that may have been taken (a 5xx, a dropped connection) means it was: answered.
"""

import asyncio
import logging
import time

from telegram import CallbackQuery
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.delivery.telegram_errors import retry_after_seconds

logger = logging.getLogger(__name__)

CALLBACK_LIFE_SECONDS = 15.0
RETRIES = 2
FIRST_RETRY_SECONDS = 0.5


class PastItsLife(BadRequest):
    """The press is too old to answer: Telegram would refuse it, so it isn't asked."""


async def answer_while_young(
    query: CallbackQuery, pressed_at: float, text: str | None = None, show_alert: bool = False
) -> None:
    """Answer the press (pressed_at: time.monotonic() when it came in) within its life;
    Telegram's last refusal is raised when it stays unanswered."""
    deadline = pressed_at + CALLBACK_LIFE_SECONDS
    if time.monotonic() >= deadline:
        raise PastItsLife("Query is too old: its life is over")
    try:
        async with asyncio.timeout(deadline - time.monotonic()):
            await _answer(query, text, show_alert, deadline)
    except TimeoutError:
        # Cut short under way: as a timeout, it may have been taken.
        raise TimedOut("Callback query answer cut short at the end of its life") from None


async def _answer(
    query: CallbackQuery, text: str | None, show_alert: bool, deadline: float
) -> None:
    wait = FIRST_RETRY_SECONDS
    maybe_taken = False  # a try so far may have been taken by Telegram
    refusal: NetworkError | RetryAfter
    for retry in range(RETRIES + 1):
        try:
            await query.answer(text, show_alert=show_alert)
            return
        except BadRequest:
            if maybe_taken:
                return  # answered already, by the try before
            raise
        except RetryAfter as error:
            refusal = error
            wait = retry_after_seconds(error)
        except TimedOut:
            raise
        except NetworkError as error:  # a 5xx, a dropped connection
            refusal, maybe_taken = error, True
        if retry == RETRIES or time.monotonic() + wait >= deadline:
            raise refusal
        logger.info("Callback query not answered for now: %s", refusal.message)
        await asyncio.sleep(wait)
        wait *= 2
