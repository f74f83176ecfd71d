"""Start-up hiccups: Telegram refusing something optional must not stop the bot."""

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.playground.files_and_inline import menu_scope
from bot.playground.local_bot_api import SentRequest
from bot.services import Services
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, Chat
from tests.conftest import bot_application, running, temporary_database
from tests.db import add_books
from tests.fake_bot_api_server import running_fake_bot_api
from tests.fake_telegram import DropConnection, FakeBotApi
from tests.test_command_line import plain_url
from tests.test_polling_end_to_end import reply_to, start_bot, stop_bot

DROPPED = -1


@dataclass
class RefusingCommandMenu(FakeBotApi):
    """Telegram answering setMyCommands with these refusals first, in turn: 429 (retry
    after one second, as flood control does) or DROPPED (the connection hung up)."""

    refusals: list[int] = field(default_factory=list)

    def answer(
        self, method: str, params: dict[str, Any], via: str = ""
    ) -> tuple[int, dict[str, Any]]:
        if method != "setMyCommands" or not self.refusals:
            return super().answer(method, params, via)
        refusal = self.refusals.pop(0)
        self.requests.append(SentRequest(method, params, None, refusal, time.monotonic(), via))
        if refusal == DROPPED:
            raise DropConnection()
        body = {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
        return 429, body

    def menu_published(self) -> bool:
        """Whether the readers' menu (the default scope, any app language) got through."""
        return any(
            request.error_code is None
            and menu_scope(request.params)["type"] == "default"
            and "language_code" not in request.params
            for request in self.sent("setMyCommands")
        )


@pytest.mark.parametrize("refusal", [429, DROPPED], ids=["429", "dropped"])
async def test_a_refused_command_menu_does_not_stop_the_bot(
    services: Services, refusal: int
) -> None:
    api = RefusingCommandMenu(refusals=[refusal])
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(Reader(ALICE.id, ALICE.id), 1)
    async with running(bot_application(services, api)) as application:
        chat = Chat(application, api)
        # (send, not send_one: the menu's retry may land among the calls meanwhile)
        await chat.send(BOB, "/start")
        assert api.received(BOB.id, "Hello, Bob!") == 1
        # The dispatcher runs: Alice hears that her book is back.
        await chat.send(ADMIN, "/restock 1 1")
        await chat.deliveries_done()
        assert api.received(ALICE.id, "Good news") == 1
        # The menu is published once Telegram takes it, without anyone restarting the bot.
        async with asyncio.timeout(10):
            while not api.menu_published():
                await asyncio.sleep(0.05)
    everyones = [
        r
        for r in api.sent("setMyCommands")
        if menu_scope(r.params)["type"] == "default" and "language_code" not in r.params
    ]
    assert [request.error_code for request in everyones] == [refusal, None]


async def test_the_installed_bot_keeps_running_through_a_429_on_the_command_menu(
    server_url: str, tmp_path: Path
) -> None:
    """As run_polling runs it: a 429 at start used to end the process (a restart loop)."""
    api = RefusingCommandMenu(refusals=[429])
    async with temporary_database(server_url) as url:
        with running_fake_bot_api(api) as telegram:
            bot = start_bot(tmp_path, telegram, DATABASE_URL=plain_url(url))
            try:
                telegram.send_text(ALICE, "/start")
                await asyncio.to_thread(telegram.wait_for, reply_to(ALICE.id, "Hello"), 30)
                await asyncio.to_thread(telegram.wait_for, lambda _: api.menu_published(), 10)
                assert bot.poll() is None, "the bot stopped"
            finally:
                output = await stop_bot(bot)
    assert bot.returncode == 0, output
    assert "Traceback" not in output
    warnings = [line for line in output.splitlines() if "WARNING" in line and "menu" in line]
    assert len(warnings) == 1, output


@dataclass
class RefusingDeleteWebhook(FakeBotApi):
    """Telegram answering getMe but refusing deleteWebhook with a 500, again and again
    (the start-up call polling makes before its first getUpdates)."""

    def answer(
        self, method: str, params: dict[str, Any], via: str = ""
    ) -> tuple[int, dict[str, Any]]:
        if method != "deleteWebhook":
            return super().answer(method, params, via)
        self.requests.append(SentRequest(method, params, None, 500, time.monotonic(), via))
        return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}


async def test_a_stop_while_telegram_refuses_the_start_ends_the_bot_cleanly(
    server_url: str, tmp_path: Path
) -> None:
    """Ctrl+C or docker stop while polling's start-up is retrying stops the bot, as
    run_polling did: it must not wait for Telegram to answer (and be killed meanwhile)."""
    api = RefusingDeleteWebhook()
    async with temporary_database(server_url) as url:
        with running_fake_bot_api(api) as telegram:
            bot = start_bot(tmp_path, telegram, DATABASE_URL=plain_url(url))
            try:
                await asyncio.to_thread(
                    telegram.wait_for, lambda _: len(api.sent("deleteWebhook")) >= 2, 30
                )
            finally:
                output = await stop_bot(bot)
    assert bot.returncode == 0, output
    assert "Traceback" not in output
    assert "getUpdates" not in {request.method for request in api.requests}
