"""The one way the bot starts and stops, whatever brings its updates: long polling, the
webhook (bot/web/), nothing (a delivery-only process, POLL_UPDATES=false) or the
playground's local Bot API. The order is run_polling's, so post_init (menus, dispatcher,
hold expiry) runs once Telegram has answered, and post_stop while the bot can still send;
a stop asked for at any point, start-up included, unwinds whatever has started.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.delivery.telegram_errors import retry_after_seconds
from bot.telegram.application import ALLOWED_UPDATES
from bot.telegram.context import BotApplication

logger = logging.getLogger(__name__)

MAX_CONNECT_RETRY_SECONDS = 30.0
# run_polling's stop signals.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)


def stop_on_signals() -> asyncio.Event:
    """An event the first SIGINT (Ctrl+C), SIGTERM (a supervisor, docker stop) or SIGABRT
    sets; a second one has its usual effect, so a stop that hangs can still be cut short."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        stopping.set()
        for number in STOP_SIGNALS:
            loop.remove_signal_handler(number)

    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, stop)
    return stopping


@asynccontextmanager
async def running(
    application: BotApplication, stopping: asyncio.Event | None = None, *, polling: bool = False
) -> AsyncIterator[bool]:
    """The bot connected (retrying while Telegram is unreachable), started and, if asked,
    polling, for the block; stopped in reverse after it, post_shutdown included. Yields
    whether it started: False when stopping was set first (the block should then end)."""
    stopping = stopping or asyncio.Event()
    initialized = False  # post_init ran: post_stop must too
    try:
        if not await connect(application, stopping):
            yield False
            return
        try:
            assert application.post_init is not None
            if not await until_stopped(application.post_init(application), stopping):
                yield False
                return
            initialized = True
            started = await until_stopped(start(application, polling), stopping)
            yield started
        finally:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            if initialized:
                assert application.post_stop is not None
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def start(application: BotApplication, polling: bool) -> None:
    if polling:
        assert application.updater is not None
        # As run_polling: Telegram away at start, keep trying; a failed getUpdates goes
        # to the error handler (bot/telegram/error_handler.py).
        await application.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=-1,
            error_callback=lambda error: polling_failed(application, error),
        )
    await application.start()


def polling_failed(application: BotApplication, error: TelegramError) -> None:
    application.create_task(application.process_error(error=error, update=None))


async def until_stopped(step: Awaitable[None], stopping: asyncio.Event) -> bool:
    """Run a start-up step unless stopping is set first (a step may retry for as long as
    Telegram is away); True when the step finished."""
    task = asyncio.ensure_future(step)
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
    task.result()  # its exception, if any
    return True


async def connect(application: BotApplication, stopping: asyncio.Event) -> bool:
    """Connect to Telegram (getMe), retrying on any failure but a refused token, as
    run_polling does; False when asked to stop meanwhile."""
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
        except TelegramError as error:
            logger.warning("Telegram unreachable (%s); retrying in %.0f s", error.message, wait)
            backoff = min(2 * backoff, MAX_CONNECT_RETRY_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), wait)
    return False
