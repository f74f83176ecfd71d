"""The bot behind a real PgBouncer in transaction mode: two processes, every part of it."""

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.database import create_engine
from bot.database_url import parse_database_url
from bot.delivery.flood_budget.ledger import SharedFloodBudget
from bot.services import build_services
from bot.telegram.application import build_application
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, ALICE, BOB, Chat
from tests.conftest import FAST, HOLD_SHOP, TOKEN, running, temporary_database
from tests.db import rows
from tests.fake_bot_api_server import running_fake_bot_api
from tests.fake_telegram import FakeBotApi, FakeRequest
from tests.pgbouncer import running_pgbouncer
from tests.test_command_line import bookstore_bot, plain_url
from tests.test_polling_end_to_end import start_bot, stop_bot

# What breaks behind PgBouncer: a statement prepared on one server connection, used or
# prepared again on another; and a flood budget that falls back to pacing alone.
BROKEN = ("prepared statement", "flood budget is unavailable")


async def until(condition: Callable[[], bool], limit_seconds: float = 15) -> None:
    async with asyncio.timeout(limit_seconds):
        while not condition():
            await asyncio.sleep(0.05)


def received(api: FakeBotApi, chat_id: int, words: str) -> Callable[[], bool]:
    return lambda: any(words in sent for sent in api.texts_to(chat_id))


async def test_two_processes_behind_pgbouncer_in_transaction_mode(
    server_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Migrations from empty; then a bot process and an in-process Application share the
    database through PgBouncer: updates, the restock, both dispatchers, the hold expiry
    loop and the shared flood budget, each on connections PgBouncer hands round."""
    caplog.set_level(logging.WARNING)
    api = FakeBotApi()
    async with temporary_database(server_url) as direct:
        with running_pgbouncer(direct) as url, running_fake_bot_api(api) as telegram:
            # The bot's own process migrates the empty database, through PgBouncer.
            other = start_bot(
                tmp_path,
                telegram,
                DATABASE_URL=plain_url(url),
                RESTOCK_POLICY="hold_in_line",
            )
            engine = create_engine(url)
            budget = SharedFloodBudget(parse_database_url(url).connect, 1000)
            application = build_application(
                TOKEN,
                build_services(engine, TelegramMessages(), HOLD_SHOP),
                messages_per_second=1000,
                tuning=FAST,
                request=FakeRequest(api),
                get_updates_request=FakeRequest(api),
                hold_poll_interval=0.05,
                budget=budget,
            )
            try:
                await asyncio.to_thread(telegram.wait_for_polling)
                async with running(application):
                    chat = Chat(application, api)
                    # Updates in this process…
                    await chat.send(ADMIN, "/addbook Dune | Frank Herbert | 0")
                    await chat.send(BOB, "/reserve 1")
                    # …and in the other one, which also restocks.
                    telegram.send_text(ALICE, "/reserve 1")
                    await until(received(api, ALICE.id, "number 2 in line"))
                    telegram.send_text(ADMIN, "/restock 1 1")
                    # Either process's dispatcher delivers the offer.
                    await until(received(api, BOB.id, "set aside for you"))
                    # The hold runs out: an expiry loop passes the copy on.
                    async with engine.begin() as connection:
                        await connection.execute(
                            text("UPDATE pre_bookings SET hold_expires_at = now()")
                        )
                    await until(received(api, BOB.id, "has gone to the next reader"))
                    await until(received(api, ALICE.id, "set aside for you"))
                    for person in (ALICE, BOB):
                        texts = api.texts_to(person.id)
                        assert len([t for t in texts if "set aside" in t]) == 1, texts
                    # Every message was booked in the shared flood budget.
                    [(booked,)] = await rows(engine, "SELECT count(*) FROM message_slots")
                    assert booked >= len(api.sent("sendMessage"))
            finally:
                output = await stop_bot(other)
                await budget.close()
                await engine.dispose()
    assert other.returncode == 0, output
    logged = output + caplog.text
    assert not [line for line in logged.splitlines() if any(b in line for b in BROKEN)]


async def test_backup_and_restore_refuse_pgbouncer_in_one_line(
    server_url: str, tmp_path: Path
) -> None:
    """pg_dump's and psql's session settings (search_path = '') would stay on the server
    connection PgBouncer lends the bot next: the tools ask for the server itself."""
    async with temporary_database(server_url) as direct:
        with running_pgbouncer(direct) as url:
            bouncer = plain_url(url)
            refused = await bookstore_bot(tmp_path, "backup", "shop.dump", DATABASE_URL=bouncer)
            assert not (tmp_path / "shop.dump").exists()
            made = await bookstore_bot(
                tmp_path, "backup", "shop.dump", DATABASE_URL=plain_url(direct)
            )
            assert made.returncode == 0, made.stderr
            not_restored = await bookstore_bot(
                tmp_path, "restore", "--force", "shop.dump", DATABASE_URL=bouncer
            )
    for result in (refused, not_restored):
        assert result.returncode == 2
        assert "PgBouncer" in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
