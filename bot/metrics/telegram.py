"""Hooks that count what the Telegram layer does, each wrapping one of PTB's extension
points, so the code that does the work (pacing, the dispatcher, the handlers) is unchanged.
"""

import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.pacing import MESSAGE_METHODS
from bot.metrics.registry import FLOOD_REFUSALS, MESSAGES_SENT, UPDATE_SECONDS, UPDATES_HANDLED
from bot.telegram.update_processor import PerReaderUpdateProcessor

RequestResult = bool | dict[str, Any] | list[dict[str, Any]]


class MeasuredUpdateProcessor(PerReaderUpdateProcessor):
    """The per-reader processor, timing each update from arrival to end."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        kind = update_kind(update)
        started = time.perf_counter()
        try:
            await super().do_process_update(update, coroutine)
        finally:
            UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
            UPDATES_HANDLED.labels(kind).inc()


class MeasuredRateLimiter(BaseRateLimiter[Any]):
    """Every Bot API call passes through the rate limiter: count the messages Telegram
    accepts and its 429s, around whichever limiter does the pacing."""

    def __init__(self, pacing: BaseRateLimiter[Any]) -> None:
        self.pacing = pacing

    async def initialize(self) -> None:
        await self.pacing.initialize()

    async def shutdown(self) -> None:
        await self.pacing.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, RequestResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> RequestResult:
        # Replies carry no rate_limit_args; everything the dispatcher sends does.
        kind = "reply" if rate_limit_args is None else "notification"

        async def counted(*call_args: Any, **call_kwargs: Any) -> RequestResult:
            try:
                result = await callback(*call_args, **call_kwargs)
            except RetryAfter:
                FLOOD_REFUSALS.labels(kind).inc()
                raise
            if endpoint in MESSAGE_METHODS:
                MESSAGES_SENT.labels(kind).inc()
            return result

        return await self.pacing.process_request(
            counted, args, kwargs, endpoint, data, rate_limit_args
        )


def update_kind(update: object) -> str:
    """The update's kind as Telegram names it (message, callback_query, …)."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"
