"""The bot's menu button opening the Mini App (setChatMenuButton with a web_app),
published at start beside the command menus and, like them, retried in the background:
the bot answers without it, so a refusal costs a warning line, never the bot."""

import logging
from dataclasses import dataclass

from telegram import Bot, MenuButtonWebApp, WebAppInfo

from bot.i18n import languages
from bot.telegram.texts import mini_app
from bot.telegram.until_accepted import UntilAccepted

logger = logging.getLogger(__name__)


class MiniAppMenuButton:
    """Every chat's menu button, opening the Mini App at url."""

    def __init__(self, bot: Bot, url: str) -> None:
        self._request = MenuButtonRequest(bot, url)
        self._until_accepted = UntilAccepted(task_name="menu-button")

    async def publish(self) -> None:
        await self._until_accepted.ask([self._request])

    async def stop(self) -> None:
        await self._until_accepted.stop()


@dataclass(frozen=True)
class MenuButtonRequest:
    bot: Bot
    url: str

    async def send(self) -> None:
        # Telegram shows one default button to every chat: in the default language.
        with languages.speaking(languages.DEFAULT):
            text = mini_app.menu_button()
        await self.bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text, WebAppInfo(self.url))
        )

    def accepted(self) -> None:
        logger.info("Menu button opens the Mini App at %s", self.url)

    def refused(self, reason: str) -> None:
        logger.warning("Telegram refused the Mini App's menu button: %s", reason)

    def postponed(self, reason: str, wait: float) -> None:
        logger.warning(
            "Mini App's menu button not set (%s); the bot runs without it, retrying in %.0f s",
            reason,
            wait,
        )
