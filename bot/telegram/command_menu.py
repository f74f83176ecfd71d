"""Telegram's command menus, published in the background.

Readers see their commands everywhere (the default scope); each staff member also sees
the staff commands in their own chat (BotCommandScopeChat). A menu may have a language
(`language_code`) for readers whose Telegram speaks it.

Menus are a convenience: the bot answers without them. So a refusal at start-up (Telegram
unreachable, a 429) costs one warning line and a later retry, never the bot itself, and a
menu Telegram refuses outright (a staff member who never opened the bot: "chat not
found") holds up no other.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.i18n import languages
from bot.i18n.catalogs import _
from bot.telegram.lengths import COMMAND_DESCRIPTION_LIMIT, truncated
from bot.telegram.texts import commands
from bot.telegram.until_accepted import UntilAccepted

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Menu:
    """The commands one audience sees: a scope, and a language (None: any other)."""

    commands: tuple[BotCommand, ...]
    scope: BotCommandScope = field(default_factory=BotCommandScopeDefault)
    language_code: str | None = None


class CommandMenu:
    def __init__(self, bot: Bot, menus: list[Menu]) -> None:
        self._bot = bot
        self._menus = menus
        self._until_accepted = UntilAccepted(task_name="command-menu")

    async def publish(self, menus: list[Menu] | None = None) -> None:
        """Publish every menu now (these menus, when given, in place of the first ones);
        those Telegram refuses for now are retried in the background until it takes them."""
        if menus is not None:
            self._menus = menus
        await self._until_accepted.ask([MenuRequest(self._bot, menu) for menu in self._menus])

    async def stop(self) -> None:
        await self._until_accepted.stop()


@dataclass(frozen=True)
class MenuRequest:
    """Setting one menu, as a request made until Telegram accepts it."""

    bot: Bot
    menu: Menu

    async def send(self) -> None:
        await self.bot.set_my_commands(
            self.menu.commands, scope=self.menu.scope, language_code=self.menu.language_code
        )

    def accepted(self) -> None:
        """A published menu goes without saying."""

    def refused(self, reason: str) -> None:
        logger.warning("Telegram refused the command menu for %s: %s", audience(self.menu), reason)

    def postponed(self, reason: str, wait: float) -> None:
        logger.warning(
            "Command menu for %s not published (%s); the bot runs without it, retrying in %.0f s",
            audience(self.menu),
            reason,
            wait,
        )


def audience(menu: Menu) -> str:
    """Who sees the menu, for the log (a chat id, never a name)."""
    who = getattr(menu.scope, "chat_id", None)
    where = "everyone" if who is None else f"staff chat {who}"
    return where if menu.language_code is None else f"{where} ({menu.language_code})"


# The app languages with menus of their own, None being every other (the default
# language's menu); a language the bot speaks is one more entry.
MENU_LANGUAGES: tuple[str | None, ...] = (
    None,
    *(code for code in languages.SUPPORTED if code != languages.DEFAULT),
)


def menus_by_role(staff_ids: Iterable[int], chosen: Mapping[int, str] | None = None) -> list[Menu]:
    """Readers' commands for everyone, in each app language; readers' and staff commands
    in each staff chat, in each app language, or in every one the language the staff
    member chose with /language (chosen: by Telegram id)."""
    chosen = chosen or {}
    menus = []
    for language in MENU_LANGUAGES:
        with languages.speaking(language or languages.DEFAULT):
            menus.append(Menu(commands_for(commands.READER_COMMANDS), language_code=language))
        for staff_id in sorted(staff_ids):
            with languages.speaking(chosen.get(staff_id, language or languages.DEFAULT)):
                staff = commands_for(commands.READER_COMMANDS, commands.ADMIN_COMMANDS)
            menus.append(Menu(staff, BotCommandScopeChat(staff_id), language))
    return menus


def chat_menus(chat_id: int, language: str, is_admin: bool) -> list[Menu]:
    """A chat's own menu in the language its reader chose, whatever their app's language
    (Telegram prefers a chat's menu for the app's language to its menu for any)."""
    with languages.speaking(language):
        entries = commands_for(
            commands.READER_COMMANDS, commands.ADMIN_COMMANDS if is_admin else {}
        )
    # Staff chats have a menu for each app language (menus_by_role): all are replaced.
    codes = MENU_LANGUAGES if is_admin else (None,)
    return [Menu(entries, BotCommandScopeChat(chat_id), code) for code in codes]


def commands_for(*described: Mapping[str, str]) -> tuple[BotCommand, ...]:
    """Menu entries for commands described by texts' marked (untranslated) descriptions,
    in the active language."""
    return tuple(
        BotCommand(name, truncated(_(what), COMMAND_DESCRIPTION_LIMIT))
        for each in described
        for name, what in each.items()
    )
