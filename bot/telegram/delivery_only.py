"""A bot process that only delivers notifications (POLL_UPDATES=false).

Telegram hands a bot's updates to one getUpdates caller at a time, so of several polling
processes one polls and the others help deliver the outbox, within the shared flood
budget (bot/flood_budget/). Started and stopped as run_polling does, minus the polling.
"""

import asyncio
import logging
import signal

from bot.telegram.connecting import initialize
from bot.telegram.context import BotApplication

logger = logging.getLogger(__name__)


async def deliver_only(application: BotApplication) -> None:
    """Deliver until SIGINT or SIGTERM, then stop as run_polling would."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop.set)
    # Telegram away at start: keep trying, as run_polling does, until asked to stop.
    if not await initialize(application, stop):
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        return
    try:
        assert application.post_init is not None
        assert application.post_stop is not None
        await application.post_init(application)
        await application.start()
        logger.info("Delivering notifications only (POLL_UPDATES=false)")
        await stop.wait()
        await application.stop()
        await application.post_stop(application)
    finally:
        await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
