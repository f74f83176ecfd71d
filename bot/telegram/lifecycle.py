"""The one way the bot starts and stops, whatever brings its updates: long polling, the
webhook (bot/web/), nothing (a delivery-only process, POLL_UPDATES=false) or the
playground's local Bot API. The order is run_polling's, so post_init (menus, dispatcher,
hold expiry) runs once Telegram has answered, and post_stop while the bot can still send.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.delivery.pacing import retry_after_seconds
from bot.telegram.application import ALLOWED_UPDATES
from bot.telegram.context import BotApplication

logger = logging.getLogger(__name__)

MAX_CONNECT_RETRY_SECONDS = 30.0


def stop_on_signals() -> asyncio.Event:
    """An event that SIGINT (Ctrl+C) or SIGTERM (a supervisor, docker stop) sets."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopping.set)
    return stopping


@asynccontextmanager
async def running(
    application: BotApplication, stopping: asyncio.Event | None = None, *, polling: bool = False
) -> AsyncIterator[bool]:
    """The bot connected (retrying while Telegram is unreachable), started and, if asked,
    polling, for the block; stopped in reverse after it, post_shutdown included. Yields
    whether it connected: False when stopping was set first (the block should then end)."""
    stopping = stopping or asyncio.Event()
    try:
        if not await connect(application, stopping):
            yield False
            return
        try:
            assert application.post_init is not None
            await application.post_init(application)
            if polling:
                assert application.updater is not None
                # As run_polling: Telegram away at start, keep trying; a failed getUpdates
                # goes to the error handler (bot/telegram/error_handler.py).
                await application.updater.start_polling(
                    allowed_updates=ALLOWED_UPDATES,
                    bootstrap_retries=-1,
                    error_callback=lambda error: polling_failed(application, error),
                )
            await application.start()
            yield True
        finally:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
                assert application.post_stop is not None
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def polling_failed(application: BotApplication, error: TelegramError) -> None:
    application.create_task(application.process_error(error=error, update=None))


async def connect(application: BotApplication, stopping: asyncio.Event) -> bool:
    """Connect to Telegram (getMe), retrying while it is unreachable; False when asked to
    stop meanwhile. A refused token raises InvalidToken at once."""
    backoff = 1.0
    while not stopping.is_set():
        wait = backoff
        try:
            await application.initialize()
            return True
        except InvalidToken:
            raise
        except RetryAfter as error:  # flood control at start: wait as long as it says
            wait = retry_after_seconds(error)
            logger.warning("Telegram asked to wait %.0f s before connecting", wait)
        except NetworkError as error:
            logger.warning("Telegram unreachable (%s); retrying in %.0f s", error.message, wait)
            backoff = min(2 * backoff, MAX_CONNECT_RETRY_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), wait)
    return False
