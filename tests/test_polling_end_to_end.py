"""The installed bot, polling a fake Bot API over HTTP, as a bookstore runs it."""

import asyncio
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bot.database import create_engine
from bot.playground.flood_control import FloodLimits
from bot.playground.local_bot_api import SentRequest
from bot.postgres import migrate
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, Person
from tests.conftest import TOKEN, temporary_database
from tests.db import add_books, rows
from tests.fake_bot_api_server import FakeBotApiServer, running_fake_bot_api
from tests.test_command_line import COMMAND, SETTINGS, plain_url

UNREACHABLE = "SELECT unreachable_at IS NOT NULL FROM users WHERE telegram_id = :id"


def reply_to(person_id: int, containing: str) -> Callable[[list[SentRequest]], bool]:
    def received(requests: list[SentRequest]) -> bool:
        return any(
            request.method == "sendMessage"
            and request.chat_id == person_id
            and request.error_code is None
            and containing in request.text
            for request in requests
        )

    return received


# Each bot's log, in a file rather than a pipe: at LOG_LEVEL=DEBUG a bot writes more than
# a pipe holds (64 KB) before the test reads it, and a bot blocked on a full pipe stops
# sending, which the test would take for the bug it looks for. The bot appends to it; the
# test reads it afresh each time, so neither moves the other's place in the file.
LOGS: dict[subprocess.Popen[str], Path] = {}


def start_bot(cwd: Path, telegram: FakeBotApiServer, **settings: str) -> subprocess.Popen[str]:
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment.update(
        BOT_TOKEN=TOKEN,
        ADMIN_IDS=str(ADMIN.id),
        TELEGRAM_BASE_URL=telegram.base_url,
        LOG_LEVEL="DEBUG",
        **settings,
    )
    descriptor, name = tempfile.mkstemp(prefix="bot-", suffix=".log")
    with open(descriptor, "a", encoding="utf-8") as log:
        bot = subprocess.Popen(
            [COMMAND, "run"],
            cwd=cwd,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    LOGS[bot] = Path(name)
    return bot


def logged(bot: subprocess.Popen[str]) -> str:
    """Everything the bot wrote so far."""
    return LOGS[bot].read_text(encoding="utf-8", errors="replace")


async def stop_bot(bot: subprocess.Popen[str], signum: signal.Signals = signal.SIGINT) -> str:
    """Ctrl+C (or signum), as a person stops it; returns everything it logged."""
    bot.send_signal(signum)
    await asyncio.to_thread(bot.wait, timeout=30)
    output = logged(bot)
    LOGS.pop(bot).unlink()
    return output


async def kill_bot(bot: subprocess.Popen[str]) -> None:
    """SIGKILL, as a crash or the OOM killer stops it."""
    bot.kill()
    await asyncio.to_thread(bot.wait, timeout=30)
    LOGS.pop(bot).unlink()


async def test_reserve_restock_and_the_message_arrives(server_url: str, tmp_path: Path) -> None:
    async with temporary_database(server_url) as url:
        with running_fake_bot_api() as telegram:
            bot = start_bot(tmp_path, telegram, DATABASE_URL=plain_url(url))
            try:
                wait = asyncio.to_thread
                telegram.send_text(ADMIN, "/addbook Dune | Frank Herbert | 0")
                await wait(telegram.wait_for, reply_to(ADMIN.id, "Added #1"), 30)
                telegram.send_text(ALICE, "/reserve 1")
                await wait(telegram.wait_for, reply_to(ALICE.id, "first in line"))
                # Bob reserves with the button under the catalog.
                telegram.send_text(BOB, "/books")
                await wait(telegram.wait_for, reply_to(BOB.id, "Catalog"))
                catalog = telegram.api.sent("sendMessage", BOB.id)[-1]
                [(_, data)] = catalog.buttons
                telegram.press_button(
                    BOB, data, telegram.api.message(BOB.id, catalog.result["message_id"])
                )
                await wait(telegram.wait_for, reply_to(BOB.id, "number 2 in line"))
                # Bob's first back-in-stock message is lost on the wire; the retry arrives.
                telegram.api.network_failures[BOB.id] = 1
                telegram.send_text(ADMIN, "/restock 1 3")
                await wait(telegram.wait_for, reply_to(ADMIN.id, "Notified 2 waiting readers"))
                await wait(telegram.wait_for, reply_to(ALICE.id, "Good news"))
                await wait(telegram.wait_for, reply_to(BOB.id, "Good news"))
                assert telegram.api.network_failures[BOB.id] == 0  # the drop did happen
            finally:
                output = await stop_bot(bot)
    assert bot.returncode == 0, output
    assert TOKEN not in output  # a full run's logs, at DEBUG
    assert not [r for r in telegram.api.requests if TOKEN in str(r.params)]  # nor any reply
    assert "Connected to Telegram as @bookstore_test_bot" in output


async def test_runs_on_an_embedded_database_without_database_url(
    tmp_path: Path, data_dir: Path
) -> None:
    with running_fake_bot_api() as telegram:
        bot = start_bot(tmp_path, telegram, DATA_DIR=str(data_dir))
        try:
            telegram.send_text(ALICE, "/start")
            await asyncio.to_thread(telegram.wait_for, reply_to(ALICE.id, "Hello, Alice!"), 30)
        finally:
            output = await stop_bot(bot)
    assert bot.returncode == 0, output
    assert f"Using the embedded PostgreSQL in {data_dir / 'pgdata'}" in output
    assert TOKEN not in output


async def test_killed_mid_broadcast_the_next_run_delivers_the_rest(
    server_url: str, tmp_path: Path
) -> None:
    """SIGKILL while messages go out; a new process finishes: none lost, none repeated
    beyond the few that were in flight."""
    readers = [Person(7000 + n, f"Reader {n}") for n in range(60)]
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection)
        services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id})))
        await add_books(services, ("Dune", "Frank Herbert", 0))
        for person in readers:
            await services.reservations.reserve(Reader(person.id, person.id), 1)
        await engine.dispose()

        def arrived() -> int:
            return sum(telegram.api.received(person.id, "Good news") for person in readers)

        settings = {"DATABASE_URL": plain_url(url), "NOTIFICATION_LEASE_SECONDS": "3"}
        with running_fake_bot_api() as telegram:
            telegram.api.limits = FloodLimits(per_second=30, per_chat_per_second=1)
            first = start_bot(tmp_path, telegram, **settings)
            telegram.send_text(ADMIN, "/restock 1 3")
            await asyncio.to_thread(telegram.wait_for, lambda _: arrived() >= 15, 30)
            await kill_bot(first)
            cut_off_at = arrived()

            second = start_bot(tmp_path, telegram, **settings)
            try:
                await asyncio.to_thread(
                    telegram.wait_for,
                    lambda _: all(telegram.api.received(p.id, "Good news") for p in readers),
                    30,
                )
            finally:
                output = await stop_bot(second)
    assert cut_off_at < len(readers), "the kill came too late to test anything"
    repeated = arrived() - len(readers)
    assert 0 <= repeated <= 8, f"{repeated} messages sent twice (at most 8 are in flight)"
    assert not [r for r in telegram.api.requests if r.error_code == 429]
    assert TOKEN not in output


async def test_a_blocked_reader_is_skipped_and_served_on_unblocking(
    server_url: str, tmp_path: Path
) -> None:
    """The bot must ask Telegram for my_chat_member updates (allowed_updates) to hear of it."""
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection)
        services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id})))
        await add_books(services, ("Dune", "Frank Herbert", 0))
        for person in (ALICE, BOB):
            await services.reservations.reserve(Reader(person.id, person.id), 1)
        wait = asyncio.to_thread
        with running_fake_bot_api() as telegram:
            bot = start_bot(tmp_path, telegram, DATABASE_URL=plain_url(url))
            try:
                telegram.change_membership(ALICE, "member", "kicked")
                async with asyncio.timeout(30):
                    while await rows(engine, UNREACHABLE, id=ALICE.id) != [(True,)]:
                        await asyncio.sleep(0.1)
                telegram.send_text(ADMIN, "/restock 1 3")
                await wait(telegram.wait_for, reply_to(BOB.id, "Good news"), 30)
                assert telegram.api.sent("sendMessage", ALICE.id) == []
                telegram.change_membership(ALICE, "kicked", "member")
                await wait(telegram.wait_for, reply_to(ALICE.id, "Good news"), 30)
            finally:
                output = await stop_bot(bot)
                await engine.dispose()
    assert bot.returncode == 0, output
    assert telegram.api.received(ALICE.id, "Good news") == 1
