"""Menus by role: readers' commands for everyone, staff commands in each staff chat."""

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.playground.files_and_inline import menu_scope
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.telegram.texts import commands as commands_texts
from tests.chat import ADMIN, BOB, Chat, Person
from tests.conftest import bot_application, running
from tests.fake_telegram import FakeBotApi

OTHER_STAFF = Person(9002, "Eli")
READERS = list(commands_texts.READER_COMMANDS)
STAFF = READERS + list(commands_texts.ADMIN_COMMANDS)


def menus(api: FakeBotApi) -> dict[tuple[Any, ...], list[str]]:
    """What each accepted setMyCommands call set: (scope type, chat, language) → commands."""
    published = {}
    for request in api.sent("setMyCommands"):
        if request.error_code is None:
            scope = menu_scope(request.params)
            key = (scope["type"], scope.get("chat_id"), request.params.get("language_code"))
            published[key] = [command["command"] for command in request.params["commands"]]
    return published


async def test_readers_and_each_staff_member_get_their_menu(
    services: Services, engine: AsyncEngine
) -> None:
    api = FakeBotApi()
    staffed = build_services(
        engine, TelegramMessages(), Shop(frozenset({ADMIN.id, OTHER_STAFF.id}))
    )
    async with running(bot_application(staffed, api)):
        pass
    # Each menu in every app language: English for any, one for each other language.
    assert menus(api) == {
        (scope, chat, language): commands
        for language in (None, "ru", "es")
        for scope, chat, commands in [
            ("default", None, READERS),
            ("chat", ADMIN.id, STAFF),
            ("chat", OTHER_STAFF.id, STAFF),
        ]
    }
    assert "restock" not in READERS


async def test_a_staff_chat_telegram_refuses_holds_up_no_other_menu(
    services: Services, engine: AsyncEngine
) -> None:
    """A staff member who never opened the bot: Telegram answers "chat not found"."""
    api = FakeBotApi(failing_chats={OTHER_STAFF.id: 400})
    staffed = build_services(
        engine, TelegramMessages(), Shop(frozenset({ADMIN.id, OTHER_STAFF.id}))
    )
    async with running(bot_application(staffed, api)) as application:
        replies = await Chat(application, api).send(BOB, "/help")
        assert [reply.method for reply in replies] == ["sendMessage"]
        await asyncio.sleep(0.1)
    assert menus(api) == {
        (scope, chat, language): commands
        for language in (None, "ru", "es")
        for scope, chat, commands in [("default", None, READERS), ("chat", ADMIN.id, STAFF)]
    }
    refused = [r for r in api.sent("setMyCommands") if r.error_code is not None]
    assert len(refused) == 3, "a refusal for good is not retried (one for each language)"
