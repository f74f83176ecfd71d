"""Connecting to Telegram at start, for the entry points that don't poll."""

import asyncio
import contextlib
import logging

from telegram.error import InvalidToken, NetworkError

from bot.telegram.context import BotApplication

logger = logging.getLogger(__name__)

MAX_CONNECT_RETRY_SECONDS = 30.0


async def initialize(application: BotApplication, stopping: asyncio.Event) -> bool:
    """Connect to Telegram (getMe), retrying while it is unreachable, as run_polling does;
    False when asked to stop meanwhile."""
    wait = 1.0
    while not stopping.is_set():
        try:
            await application.initialize()
            return True
        except InvalidToken:
            raise
        except NetworkError as error:
            logger.warning("Telegram unreachable (%s); retrying in %.0f s", error.message, wait)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), wait)
        wait = min(2 * wait, MAX_CONNECT_RETRY_SECONDS)
    return False
