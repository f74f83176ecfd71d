"""Telling Telegram where to post updates (setWebhook), retried in the background.

Every process calls it with the same URL, secret and update types, which Telegram takes
as often as it is asked. A refusal at start (Telegram unreachable, a 429) costs a warning
and a later retry, never the bot: the webhook Telegram knows from before may well be this
one, and the server answers meanwhile.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.delivery.pacing import retry_after_seconds

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 300.0


class WebhookRegistration:
    def __init__(self, bot: Bot, url: str, secret: str, allowed_updates: Sequence[str]) -> None:
        self._bot = bot
        self._url = url
        self._secret = secret
        self._allowed_updates = list(allowed_updates)
        self._task: asyncio.Task[None] | None = None

    async def register(self) -> None:
        """Register now; if Telegram refuses, retry in the background until it takes it."""
        wait = await self._attempt(FIRST_RETRY_SECONDS)
        if wait is not None:
            self._task = asyncio.create_task(self._retry(wait), name="webhook-registration")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _retry(self, first_wait: float) -> None:
        wait: float | None = first_wait
        while wait is not None:
            await asyncio.sleep(wait)
            wait = await self._attempt(min(2 * wait, MAX_RETRY_SECONDS))

    async def _attempt(self, backoff: float) -> float | None:
        """Seconds to wait before the next attempt, or None when there is none to make."""
        try:
            await self._bot.set_webhook(
                self._url, secret_token=self._secret, allowed_updates=self._allowed_updates
            )
            logger.info("Webhook registered with Telegram")
            return None
        except RetryAfter as error:
            wait, reason = retry_after_seconds(error), error.message
        except (BadRequest, Forbidden, InvalidToken) as error:
            # Asking again gets the same answer (a URL Telegram can't use, say).
            logger.error("Telegram refused the webhook: %s", error.message)
            return None
        except TelegramError as error:
            wait, reason = backoff, error.message
        logger.warning("Webhook not registered (%s); retrying in %.0f s", reason, wait)
        return wait
