"""Messages the readers a restock notified, after the commit, in the background."""

import asyncio
import logging
import warnings
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot.books.service import Restock
from bot.telegram import texts

logger = logging.getLogger(__name__)

# Below Telegram's 30 messages per second, leaving room for interactive replies.
DEFAULT_MESSAGES_PER_SECOND = 25.0
MAX_ATTEMPTS = 5


class RestockNotifier:
    """Sends back-in-stock messages paced under Telegram's broadcast limit."""

    def __init__(self, messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND) -> None:
        self._interval = 1 / messages_per_second
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(
        self, application: "Application[Any, Any, Any, Any, Any, Any]", restock: Restock
    ) -> None:
        """Start messaging the restock's readers without waiting for it.

        Through the application, so that stopping the bot waits for the broadcast.
        """
        if not restock.notified:
            return
        task = application.create_task(
            self._deliver(application.bot, restock), name="restock-notifications"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_until_idle(self) -> None:
        """Return once every scheduled broadcast has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver(self, bot: Bot, restock: Restock) -> None:
        text = texts.back_in_stock(restock.book)
        sent = 0
        for reader in restock.notified:
            if await self._send(bot, reader.chat_id, text):
                sent += 1
            await asyncio.sleep(self._interval)
        logger.info(
            "Book %s back in stock: messaged %d of %d readers",
            restock.book.id,
            sent,
            len(restock.notified),
        )

    async def _send(self, bot: Bot, chat_id: int, text: str) -> bool:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                await bot.send_message(chat_id, text)
                return True
            except RetryAfter as error:
                # Flood control: Telegram says how long to wait; the message is kept.
                await asyncio.sleep(retry_after_seconds(error))
            except (Forbidden, BadRequest) as error:
                logger.info("Reader chat %s cannot be messaged: %s", chat_id, error.message)
                return False
            except NetworkError as error:
                logger.warning(
                    "Sending to chat %s failed (attempt %d): %s", chat_id, attempt, error
                )
                await asyncio.sleep(min(2**attempt, 30))
        logger.error("Gave up messaging chat %s after %d attempts", chat_id, MAX_ATTEMPTS)
        return False


def retry_after_seconds(error: RetryAfter) -> float:
    """PTB 22 gives retry_after as an int (deprecated) or a timedelta (PTB_TIMEDELTA=1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        period = error.retry_after
    return period.total_seconds() if isinstance(period, timedelta) else float(period)
