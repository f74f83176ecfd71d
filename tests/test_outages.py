"""The database or Telegram going away and coming back, for real."""

import asyncio
import time
from pathlib import Path

from bot.database import create_engine
from bot.postgres import migrate
from bot.postgres.embedded import start_embedded_postgres
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.telegram.texts import refusals
from tests.chat import ADMIN, ALICE, Chat
from tests.conftest import TOKEN, bot_application, running, temporary_database
from tests.fake_bot_api_server import running_fake_bot_api
from tests.fake_telegram import FakeBotApi
from tests.test_command_line import plain_url
from tests.test_polling_end_to_end import reply_to, start_bot, stop_bot

UNAVAILABLE = refusals.temporarily_unavailable()


async def test_database_restart_is_survived(data_dir: Path, api: FakeBotApi) -> None:
    """A server of its own, stopped and started during the test."""
    server = start_embedded_postgres(data_dir)
    engine = create_engine(server.url)
    try:
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection)
        services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id})))
        await services.books.add_book(ADMIN.id, "Dune", "Frank Herbert", 0)
        async with running(bot_application(services, api)) as application:
            chat = Chat(application, api)
            assert "Dune" in (await chat.send_one(ALICE, "/books")).text

            await asyncio.to_thread(server.stop, "immediate")
            started = time.monotonic()
            down = await chat.send_one(ALICE, "/books")
            assert down.text == UNAVAILABLE
            assert time.monotonic() - started < 10  # answered, not hung

            await asyncio.to_thread(server.start)
            # Pooled connections died with the server; pre-ping replaces them.
            back = await chat.send_one(ALICE, "/books")
            assert "Dune" in back.text
            reserved = await chat.send_one(ALICE, "/reserve 1")
            assert reserved.text.startswith("Reserved")
    finally:
        await engine.dispose()
        server.release()


async def test_telegram_going_away_while_polling(server_url: str, tmp_path: Path) -> None:
    """The Bot API drops every connection for a few seconds; the bot keeps polling, then
    carries on with what was sent meanwhile."""
    async with temporary_database(server_url) as url:
        with running_fake_bot_api() as telegram:
            bot = start_bot(tmp_path, telegram, DATABASE_URL=plain_url(url))
            try:
                telegram.send_text(ALICE, "/start")
                await asyncio.to_thread(telegram.wait_for, reply_to(ALICE.id, "Hello"), 30)
                telegram.go_down()
                telegram.send_text(ALICE, "/help")  # waits at "Telegram" meanwhile
                await asyncio.sleep(3)
                telegram.come_back()
                await asyncio.to_thread(
                    telegram.wait_for, lambda _: len(telegram.api.texts_to(ALICE.id)) == 2, 30
                )
                assert telegram.api.texts_to(ALICE.id)[1].startswith("<b>What I can do</b>")
            finally:
                output = await stop_bot(bot)
    assert bot.returncode == 0, output
    assert "Telegram unreachable, retrying" in output
    assert TOKEN not in output


async def test_stopping_while_telegram_is_away_is_quick_and_quiet(
    server_url: str, tmp_path: Path
) -> None:
    """Ctrl+C while every connection to Telegram is refused: the bot stops within
    seconds, and the last getUpdates that can't go through is one line, no traceback."""
    async with temporary_database(server_url) as url:
        with running_fake_bot_api() as telegram:
            bot = start_bot(tmp_path, telegram, DATABASE_URL=plain_url(url))
            try:
                telegram.send_text(ALICE, "/start")
                await asyncio.to_thread(telegram.wait_for, reply_to(ALICE.id, "Hello"), 30)
                telegram.stop()
                await asyncio.sleep(2)
            finally:
                started = time.monotonic()
                output = await stop_bot(bot)
    assert bot.returncode == 0, output
    assert time.monotonic() - started < 10
    assert "Traceback" not in output, output
    assert TOKEN not in output
