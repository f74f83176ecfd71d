"""Telling Telegram where to post updates (setWebhook), retried in the background.

Every process calls it with the same URL, secret and update types, which Telegram takes
as often as it is asked. A refusal at start (Telegram unreachable, a 429) costs a warning
and a later retry, never the bot: the webhook Telegram knows from before may well be this
one, and the server answers meanwhile.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Bot

from bot.telegram.until_accepted import UntilAccepted

logger = logging.getLogger(__name__)


class WebhookRegistration:
    def __init__(self, bot: Bot, url: str, secret: str, allowed_updates: Sequence[str]) -> None:
        self._request = SetWebhook(bot, url, secret, tuple(allowed_updates))
        self._until_accepted = UntilAccepted(task_name="webhook-registration")

    async def register(self) -> None:
        """Register now; if Telegram refuses, retry in the background until it takes it."""
        await self._until_accepted.ask([self._request])

    async def stop(self) -> None:
        await self._until_accepted.stop()


@dataclass(frozen=True)
class SetWebhook:
    """The registration, as a request made until Telegram accepts it."""

    bot: Bot
    url: str
    secret: str
    allowed_updates: tuple[str, ...]

    async def send(self) -> None:
        await self.bot.set_webhook(
            self.url, secret_token=self.secret, allowed_updates=list(self.allowed_updates)
        )

    def accepted(self) -> None:
        logger.info("Webhook registered with Telegram")

    def refused(self, reason: str) -> None:
        # Asking again gets the same answer (a URL Telegram can't use, say).
        logger.error("Telegram refused the webhook: %s", reason)

    def postponed(self, reason: str, wait: float) -> None:
        logger.warning("Webhook not registered (%s); retrying in %.0f s", reason, wait)
