"""Timing each update the bot handles, around the per-reader processor (PTB's update
processor hook), so the handling itself is unchanged."""

import time
from collections.abc import Awaitable
from typing import Any

from telegram import Update

from bot.metrics.registry import UPDATE_SECONDS, UPDATES_HANDLED
from bot.telegram.update_processor import PerReaderUpdateProcessor


class MeasuredUpdateProcessor(PerReaderUpdateProcessor):
    """The per-reader processor, timing each update from arrival to end (a spinner's
    answer still under way then is not counted)."""

    async def handle_in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        kind = update_kind(update)
        started = time.perf_counter()
        try:
            await super().handle_in_turn(update, coroutine)
        finally:
            UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
            UPDATES_HANDLED.labels(kind).inc()


def update_kind(update: object) -> str:
    """The update's kind as Telegram names it (message, callback_query, …)."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"
