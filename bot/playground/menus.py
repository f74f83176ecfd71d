"""The menus the local Bot API keeps as Telegram does: the command menus setMyCommands
gives, by scope and language, and the menu buttons setChatMenuButton gives, by chat."""

import json
from dataclasses import dataclass, field
from typing import Any

from bot.playground.files_and_inline import menu_scope
from bot.playground.telegram_rules import COMMANDS_BUTTON, checked_menu_button


@dataclass
class Menus:
    # the bot's command menu, as its last setMyCommands gave it
    commands: list[dict[str, str]] = field(default_factory=list)
    # every menu setMyCommands gave: by scope type, the scope's chat and language ("": any)
    menus: dict[tuple[str, int | None, str], list[dict[str, str]]] = field(default_factory=dict)
    # the menu button setChatMenuButton gave: by chat (None: every private chat's default)
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)

    def set_commands(self, params: dict[str, Any]) -> bool:
        """setMyCommands, or deleteMyCommands (no commands)."""
        commands = params.get("commands") or []
        commands = json.loads(commands) if isinstance(commands, str) else commands
        key = _menu_key(params)
        self.menus[key] = list(commands)
        if key == ("default", None, ""):
            self.commands = self.menus[key]  # the menu everyone sees
        return True

    def set_button(self, params: dict[str, Any]) -> bool:
        """setChatMenuButton."""
        chat = chat_of(params)
        button = checked_menu_button(params)
        if button == COMMANDS_BUTTON or button["type"] == "default":
            self.menu_buttons.pop(chat, None)
        else:
            self.menu_buttons[chat] = button
        return True

    def get_button(self, params: dict[str, Any]) -> dict[str, Any]:
        """getChatMenuButton."""
        chat = chat_of(params)
        if chat is None:
            return self.menu_buttons.get(None) or COMMANDS_BUTTON
        return self.button_for(chat)

    def menu_for(self, chat_id: int, language: str) -> list[dict[str, str]]:
        """The command menu a user's Telegram app shows in their private chat with the
        bot: the most specific one set, as Telegram picks it (the chat's, then all private
        chats', then everyone's; each in the user's language first)."""
        for scope, chat in (("chat", chat_id), ("all_private_chats", None), ("default", None)):
            for code in (language, ""):
                commands = self.menus.get((scope, chat, code))
                if commands:
                    return commands
        return []

    def button_for(self, chat_id: int) -> dict[str, Any]:
        """The menu button a user's Telegram app shows in their chat with the bot: the
        chat's own, else the default one, else the command menu's."""
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or COMMANDS_BUTTON


def chat_of(params: dict[str, Any]) -> int | None:
    """The chat_id a call names, if any."""
    try:
        return int(params["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


def _menu_key(params: dict[str, Any]) -> tuple[str, int | None, str]:
    scope = menu_scope(params)
    chat = scope.get("chat_id")
    return scope["type"], None if chat is None else int(chat), params.get("language_code") or ""
