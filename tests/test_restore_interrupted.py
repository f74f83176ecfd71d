"""A restore cut short, however it happens, leaves the database exactly as it was.

The real `bookstore-bot restore --force` of a real dump (20,000 books), killed as a supervisor
or `docker stop` would (the bot's own process, not its children), or failing on its own:
a cut-off dump, pg_restore dying, a table the running bot holds.
"""

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import make_url, text

from bot.database import create_engine
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN
from tests.conftest import temporary_database
from tests.test_backup_restore import a_shop_with_work_pending, migrated_database
from tests.test_command_line import COMMAND, SETTINGS, bookstore_bot, plain_url

BOOKS = 20_000
Snapshot = dict[str, Any]


@pytest.fixture(scope="module")
async def shop_dump(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of a shop with 20,000 books and 2,000 readers waiting, made by the command."""
    folder = tmp_path_factory.mktemp("dump")
    async with temporary_database(server_url) as url:
        engine = await migrated_database(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO books (title, author, title_key, author_key, search_vector,"
                        " stock_quantity) SELECT 'Book ' || n, 'Author ' || n, 'book ' || n,"
                        " 'author ' || n, to_tsvector('simple', 'book ' || n), 0"
                        " FROM generate_series(1, :books) n"
                    ),
                    {"books": BOOKS},
                )
                await connection.execute(
                    text(
                        "INSERT INTO users (telegram_id, chat_id, first_name)"
                        " SELECT n, n, 'Reader ' || n FROM generate_series(1, 2000) n"
                    )
                )
                await connection.execute(
                    text(
                        "INSERT INTO pre_bookings (user_id, book_id)"
                        " SELECT n, n FROM generate_series(1, 2000) n"
                    )
                )
        finally:
            await engine.dispose()
        made = await bookstore_bot(folder, "backup", "shop.dump", DATABASE_URL=plain_url(url))
    assert made.returncode == 0, made.stderr
    return folder / "shop.dump"


@asynccontextmanager
async def a_shop(server_url: str, *, empty: bool = False) -> AsyncIterator[str]:
    """A database holding a small shop of its own (or nothing at all)."""
    async with temporary_database(server_url) as url:
        if not empty:
            engine = await migrated_database(url)
            try:
                services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id})))
                await a_shop_with_work_pending(services)
            finally:
                await engine.dispose()
        yield url


async def snapshot(url: str) -> Snapshot:
    """Everything a restore could change: each table's rows (count and checksum), the
    constraints, indexes, types and sequences of schema public."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = list(
                await connection.scalars(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
                )
            )
            state: Snapshot = {
                table: tuple(
                    (
                        await connection.execute(
                            text(
                                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n'"  # noqa: S608
                                f" ORDER BY t::text), '')) FROM \"{table}\" t"
                            )
                        )
                    ).one()
                )
                for table in tables
            }
            for name, query in (
                (
                    "constraints",
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                    " FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
                ),
                (
                    "indexes",
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
                ),
                (
                    "types",
                    "SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace",
                ),
                (
                    "sequences",
                    "SELECT sequencename, last_value FROM pg_sequences"
                    " WHERE schemaname = 'public'",
                ),
            ):
                state[name] = sorted(tuple(row) for row in await connection.execute(text(query)))
            return state
    finally:
        await engine.dispose()


def start_restore(cwd: Path, dump: Path, url: str) -> subprocess.Popen[str]:
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment["DATABASE_URL"] = plain_url(url)
    return subprocess.Popen(
        [COMMAND, "restore", "--force", str(dump)],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def child(bot: subprocess.Popen[str], name: str) -> psutil.Process:
    """The bot's running child named name (pg_restore: the one feeding psql, not --list)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert bot.poll() is None, bot.communicate()
        for process in psutil.Process(bot.pid).children():
            try:
                if process.name() == name and "--list" not in process.cmdline():
                    return process
            except psutil.NoSuchProcess:
                pass
        await asyncio.sleep(0.002)
    raise AssertionError(f"{name} never started")


async def copied_books(url: str) -> int:
    """How many books the restore's COPY has loaded so far (in its own transaction)."""
    database = make_url(url).database
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            copied = await connection.scalar(
                text(
                    "SELECT coalesce(max(p.tuples_processed), 0) FROM pg_stat_progress_copy p"
                    " JOIN pg_stat_activity a USING (pid)"
                    " WHERE p.datname = :database AND a.query LIKE 'COPY public.books %'"
                ),
                {"database": database},
            )
            return int(copied or 0)
    finally:
        await engine.dispose()


async def some_books_landed(bot: subprocess.Popen[str], url: str) -> psutil.Process:
    """Let pg_restore's output through a little at a time until books are being copied;
    pg_restore is left paused there."""
    await child(bot, "psql")
    pg_restore = await child(bot, "pg_restore")
    pg_restore.suspend()
    while await copied_books(url) == 0:
        assert bot.poll() is None, bot.communicate()
        pg_restore.resume()
        await asyncio.sleep(0.002)
        pg_restore.suspend()
    return pg_restore


@contextmanager
def cleaned_up(bot: subprocess.Popen[str]) -> Iterator[list[psutil.Process]]:
    """The bot's children (filled in by the test) go on, and are gone, at the end."""
    children: list[psutil.Process] = []
    try:
        yield children
    finally:
        bot.kill()
        bot.wait()
        for process in children:
            with suppress(psutil.NoSuchProcess):
                process.resume()
        # Orphans end by themselves: psql at the end of its input, pg_restore on a broken pipe.
        _, alive = psutil.wait_procs(children, timeout=60)
        for process in alive:
            process.kill()
        assert alive == []


@pytest.mark.parametrize(
    ("kill", "moment", "target"),
    [
        (signal.SIGTERM, "psql started", "a shop"),
        (signal.SIGKILL, "psql started", "a shop"),
        (signal.SIGTERM, "books landing", "a shop"),
        (signal.SIGKILL, "books landing", "an empty database"),
    ],
    ids=lambda value: value.name if isinstance(value, signal.Signals) else value,
)
async def test_a_restore_killed_midway_leaves_the_database_as_it_was(
    server_url: str,
    shop_dump: Path,
    tmp_path: Path,
    kill: signal.Signals,
    moment: str,
    target: str,
) -> None:
    async with a_shop(server_url, empty=target == "an empty database") as url:
        before = await snapshot(url)
        bot = start_restore(tmp_path, shop_dump, url)
        with cleaned_up(bot) as children:
            children.append(await child(bot, "psql"))
            if moment == "books landing":
                children.append(await some_books_landed(bot, url))
            else:
                children.append(await child(bot, "pg_restore"))
            os.kill(bot.pid, kill)
            _, errors = await asyncio.to_thread(bot.communicate, timeout=60)
            if kill == signal.SIGTERM:
                assert bot.returncode == 2, errors
                assert errors.startswith("bookstore-bot: error: stopped by SIGTERM: "), errors
                assert errors.count("\n") == 1, errors
                # Nothing of the restore's is left running.
                assert not any(process.is_running() for process in children)
        assert await snapshot(url) == before


async def failed_restore(url: str, before: Snapshot, tmp_path: Path, dump: Path, how: str) -> None:
    """One way of failing: one line, and the shop as it was."""
    holder = create_engine(url)
    try:
        async with holder.connect() as connection:
            if how == "a table in use":
                # As a running bot does: a transaction that read a table, still open.
                await connection.execute(text("SELECT count(*) FROM books"))
            bot = start_restore(tmp_path, dump, url)
            with cleaned_up(bot) as children:
                if how == "pg_restore killed":
                    children.append(await child(bot, "psql"))
                    pg_restore = await some_books_landed(bot, url)
                    children.append(pg_restore)
                    pg_restore.kill()
                _, errors = await asyncio.to_thread(bot.communicate, timeout=60)
            await connection.rollback()
    finally:
        await holder.dispose()
    assert bot.returncode == 2, (how, errors)
    assert errors.startswith("bookstore-bot: error: "), (how, errors)
    assert errors.count("\n") == 1, (how, errors)
    if how == "a table in use":
        assert "stop the bot" in errors
    assert await snapshot(url) == before, how


def cut_off(dump: Path, folder: Path) -> dict[str, Path]:
    """Copies of the dump that end early: in its data, and near its end."""
    whole = dump.read_bytes()
    copies = {}
    for name, length in {
        "cut in half": len(whole) // 2,
        "cut near the end": len(whole) - 200,
    }.items():
        copies[name] = folder / f"{name}.dump"
        copies[name].write_bytes(whole[:length])
    return copies


async def test_a_restore_that_cannot_finish_leaves_the_database_as_it_was(
    server_url: str, shop_dump: Path, tmp_path: Path
) -> None:
    """A dump cut off, pg_restore dying midway, and a table the bot holds (the restore gives
    up after its lock timeout, 10 s): side by side."""
    dumps = {"a table in use": shop_dump, "pg_restore killed": shop_dump}
    dumps |= cut_off(shop_dump, tmp_path)
    async with AsyncExitStack() as stack:
        # One at a time: alembic's set-up is not for concurrent use within a process.
        shops = {how: await stack.enter_async_context(a_shop(server_url)) for how in dumps}
        befores = {how: await snapshot(url) for how, url in shops.items()}
        outcomes = await asyncio.gather(
            *(
                failed_restore(shops[how], befores[how], tmp_path, dump, how)
                for how, dump in dumps.items()
            ),
            return_exceptions=True,
        )
    assert [outcome for outcome in outcomes if outcome is not None] == []
