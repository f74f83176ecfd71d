"""Telegram's command menu, published in the background.

The menu is a convenience: the bot answers without it. So a refusal at start-up (Telegram
unreachable, a 429) costs one warning line and a later retry, never the bot itself.
"""

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from telegram import Bot, BotCommand
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.i18n.catalogs import _
from bot.telegram.pacing import retry_after_seconds

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 300.0


class CommandMenu:
    def __init__(
        self,
        bot: Bot,
        commands: list[BotCommand],
        by_language: Mapping[str, list[BotCommand]] | None = None,
    ) -> None:
        """commands for everyone; by_language for the readers whose app is set to one."""
        self._bot = bot
        self._commands = commands
        self._by_language = by_language or {}
        self._task: asyncio.Task[None] | None = None

    async def publish(self) -> None:
        """Publish now; if Telegram refuses, retry in the background until it takes it."""
        wait = await self._attempt(FIRST_RETRY_SECONDS)
        if wait is not None:
            self._task = asyncio.create_task(self._retry(wait), name="command-menu")

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
            await self._bot.set_my_commands(self._commands)
            for language, commands in self._by_language.items():
                await self._bot.set_my_commands(commands, language_code=language)
            return None
        except RetryAfter as error:
            wait, reason = retry_after_seconds(error), error.message
        except (BadRequest, Forbidden, InvalidToken) as error:
            # Asking again gets the same answer.
            logger.warning("Telegram refused the command menu: %s", error.message)
            return None
        except TelegramError as error:
            wait, reason = backoff, error.message
        logger.warning(
            "Command menu not published (%s); the bot runs without it, retrying in %.0f s",
            reason,
            wait,
        )
        return wait


def commands_for(*described: Mapping[str, str]) -> list[BotCommand]:
    """Menu entries for commands described by texts' marked (untranslated) descriptions,
    in the active language."""
    return [BotCommand(name, _(what)[:256]) for each in described for name, what in each.items()]
