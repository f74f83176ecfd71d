"""Counting what Telegram makes of the bot's requests, around whichever limiter does the
pacing (PTB's rate limiter hook), so the pacing itself is unchanged."""

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.pacing import MESSAGE_METHODS
from bot.metrics.registry import FLOOD_REFUSALS, MESSAGES_SENT

RequestResult = bool | dict[str, Any] | list[dict[str, Any]]


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
