"""`bookstore-bot backup` and `restore`: everything comes back, and the bot goes on."""

import asyncio
import os
import subprocess
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.database import create_engine
from bot.database_url import SUPPORTED
from bot.postgres import migrate
from bot.postgres.libpq import IN_A_SERVICE_FILE, VARIABLES
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, CAROL, Person
from tests.conftest import bot_application, running, temporary_database
from tests.db import add_books, outbox_settled
from tests.fake_telegram import FakeBotApi
from tests.test_command_line import COMMAND, SETTINGS, bookstore_bot, plain_url


def reader(person: Person) -> Reader:
    return Reader(person.id, person.id, person.username, person.first_name)


async def everything(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, whatever tables later migrations add."""
    async with engine.connect() as connection:
        tables = await connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        )
        return {
            table: [
                tuple(row)
                for row in await connection.execute(text(f'SELECT * FROM "{table}" ORDER BY 1'))  # noqa: S608
            ]
            for table in list(tables)
        }


async def a_shop_with_work_pending(services: Services) -> None:
    """Readers waiting, and back-in-stock messages queued but not yet sent."""
    dune, emma = await add_books(
        services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0)
    )
    for person in (ALICE, BOB, CAROL):
        await services.users.register(reader(person))
    await services.reservations.reserve(reader(ALICE), dune.id)
    await services.reservations.reserve(reader(BOB), dune.id)
    await services.reservations.reserve(reader(CAROL), emma.id)
    await services.restocks.restock(ADMIN.id, dune.id, 3)


async def migrated_database(url: str) -> AsyncEngine:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await migrate.upgrade_on(connection)
    return engine


async def test_a_restored_backup_holds_everything_and_the_bot_delivers_what_was_pending(
    server_url: str, tmp_path: Path
) -> None:
    dump = tmp_path / "shop.dump"
    async with temporary_database(server_url) as source_url:
        source = await migrated_database(source_url)
        try:
            await a_shop_with_work_pending(
                build_services(source, TelegramMessages(), Shop(frozenset({ADMIN.id})))
            )
            before = await everything(source)
            async with source.connect() as connection:
                pending = await connection.scalar(
                    text("SELECT count(*) FROM notifications WHERE status = 'pending'")
                )
            assert pending == 2
            made = await bookstore_bot(
                tmp_path, "backup", str(dump), DATABASE_URL=plain_url(source_url)
            )
            assert made.returncode == 0, made.stderr
            assert made.stdout.startswith(f"Backed up the database to {dump} (")
            # It holds readers' data: for its owner's eyes only.
            assert dump.stat().st_mode & 0o777 == 0o600
            unreachable = await bookstore_bot(
                tmp_path, "restore", str(dump), DATABASE_URL="postgresql://nobody@127.0.0.1:1/x"
            )
            assert unreachable.returncode == 2
            assert unreachable.stderr.startswith("bookstore-bot: error: could not reach the")
            assert unreachable.stderr.count("\n") == 1
        finally:
            await source.dispose()

    async with temporary_database(server_url) as target_url:
        restored = await bookstore_bot(
            tmp_path, "restore", str(dump), DATABASE_URL=plain_url(target_url)
        )
        assert restored.returncode == 0, restored.stderr
        assert restored.stdout == f"Restored {dump} and brought the schema up to date.\n"
        target = create_engine(target_url)
        try:
            assert await everything(target) == before
            services = build_services(target, TelegramMessages(), Shop(frozenset({ADMIN.id})))
            # Identities go on after the restored rows.
            [new_book] = await add_books(services, ("Ulysses", "James Joyce", 1))
            assert new_book.id == 3

            api = FakeBotApi()
            async with running(bot_application(services, api)):
                await outbox_settled(target)
            assert len(api.texts_to(ALICE.id)) == 1
            assert len(api.texts_to(BOB.id)) == 1
            assert api.texts_to(CAROL.id) == []
            assert "Dune" in api.texts_to(ALICE.id)[0]

            refused = await bookstore_bot(
                tmp_path, "restore", str(dump), DATABASE_URL=plain_url(target_url)
            )
            assert refused.returncode == 2
            assert "the database is not empty" in refused.stderr
            assert "--force" in refused.stderr
            assert len(await everything(target)) == len(before)
            assert (await everything(target))["books"][-1][1] == "Ulysses"

            # A forced restore cut short changes nothing: tests/test_restore_interrupted.py.
            forced = await bookstore_bot(
                tmp_path, "restore", "--force", str(dump), DATABASE_URL=plain_url(target_url)
            )
            assert forced.returncode == 0, forced.stderr
            # New tables under the old names: connections that cached plans for the old
            # ones are done with (as a bot's would be: it is stopped for a forced restore).
            await target.dispose()
            assert await everything(target) == before
        finally:
            await target.dispose()


async def test_a_file_that_is_not_a_backup_is_refused(server_url: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a dump")
    async with temporary_database(server_url) as url:
        result = await bookstore_bot(tmp_path, "restore", "notes.txt", DATABASE_URL=plain_url(url))
        missing = await bookstore_bot(
            tmp_path, "restore", "nothing.dump", DATABASE_URL=plain_url(url)
        )
    assert result.returncode == 2
    assert result.stderr == "bookstore-bot: error: notes.txt is not a backup made by pg_dump\n"
    assert missing.stderr == "bookstore-bot: error: nothing.dump: no such file\n"


async def test_the_embedded_database_moves_to_a_server(
    server_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """backup with the embedded server's own pg_dump, restore with DATABASE_URL."""
    (tmp_path / "catalog.csv").write_text("title,author,quantity\nDune,Frank Herbert,2\n")
    embedded = {"DATA_DIR": str(data_dir)}
    imported = await bookstore_bot(tmp_path, "import-books", "catalog.csv", **embedded)
    assert imported.returncode == 0, imported.stderr
    made = await bookstore_bot(tmp_path, "backup", "shop.dump", **embedded)
    assert made.returncode == 0, made.stderr
    async with temporary_database(server_url) as url:
        restored = await bookstore_bot(
            tmp_path, "restore", "shop.dump", DATABASE_URL=plain_url(url)
        )
        assert restored.returncode == 0, restored.stderr
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                books = await connection.execute(text("SELECT title, stock_quantity FROM books"))
                assert [tuple(row) for row in books] == [("Dune", 2)]
        finally:
            await engine.dispose()


async def test_a_backup_to_a_place_it_cannot_write_is_one_line(
    server_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    # Root may write anywhere but in /sys.
    locked = Path("/sys") if os.geteuid() == 0 else tmp_path / "locked"
    if locked != Path("/sys"):
        locked.mkdir(mode=0o500)
    mistakes = {
        "missing/shop.dump": f"{tmp_path}/missing: no such folder",
        "a-file/shop.dump": f"{tmp_path}/a-file is not a folder",
        "a-folder": f"{tmp_path}/a-folder is a folder: name the file to write",
        f"{locked}/shop.dump": f"cannot write in {locked}: ",
    }
    async with temporary_database(server_url) as url:
        results = await asyncio.gather(
            *(
                bookstore_bot(tmp_path, "backup", path, DATABASE_URL=plain_url(url))
                for path in mistakes
            )
        )
    for (path, line), result in zip(mistakes.items(), results, strict=True):
        assert result.returncode == 2, (path, result.stderr)
        assert result.stderr.startswith(f"bookstore-bot: error: {line}"), (path, result.stderr)
        assert result.stderr.count("\n") == 1, (path, result.stderr)


def test_every_database_url_option_reaches_the_programs() -> None:
    """Each option DATABASE_URL may hold has its way to pg_dump and psql (libpq.py)."""
    passed_on = set(VARIABLES) | IN_A_SERVICE_FILE | {"ssl", "fallback_application_name"}
    assert passed_on >= SUPPORTED


async def test_no_secret_is_in_the_programs_arguments(server_url: str, tmp_path: Path) -> None:
    """Any local user can read a process's arguments (ps, /proc/PID/cmdline): read those of
    pg_dump and psql while each waits on a lock the test holds."""
    password = make_url(server_url).password or "a-password-nobody-checks"
    ssl_password = "the-keys-password"
    async with temporary_database(server_url) as url:
        secret_url = (
            make_url(plain_url(url))
            .set(password=password)
            .update_query_dict({"sslmode": "prefer", "sslpassword": ssl_password})
            .render_as_string(hide_password=False)
        )
        engine = await migrated_database(url)
        try:
            services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id})))
            await add_books(services, ("Dune", "Frank Herbert", 1))
            before = await everything(engine)
            arguments: dict[str, list[str]] = {}
            async with engine.connect() as holder:
                await holder.execute(text("LOCK TABLE books IN ACCESS EXCLUSIVE MODE"))
                backup = start(tmp_path, "backup", "shop.dump", secret_url)
                arguments |= await programs_waiting(backup, {"pg_dump"})
                await holder.rollback()
            assert await asyncio.to_thread(backup.wait, 120) == 0, backup.communicate()
            async with engine.connect() as holder:
                await holder.execute(text("SELECT count(*) FROM books"))
                restore = start(tmp_path, "restore", "--force", "shop.dump", secret_url)
                # (pg_restore connects nowhere; it is checked when seen.)
                arguments |= await programs_waiting(restore, {"psql"})
                await holder.rollback()
            assert await asyncio.to_thread(restore.wait, 120) == 0, restore.communicate()
            await engine.dispose()
            assert await everything(engine) == before
        finally:
            await engine.dispose()
    assert {"pg_dump", "psql"} <= set(arguments)
    for program, words in arguments.items():
        for secret in (password, ssl_password):
            assert not any(secret in word for word in words), (program, words)


def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """bookstore-bot with args, the last being DATABASE_URL."""
    *command, url = args
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment["DATABASE_URL"] = url
    return subprocess.Popen(
        [COMMAND, *command],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def programs_waiting(bot: subprocess.Popen[str], names: set[str]) -> dict[str, list[str]]:
    """The arguments of the bot's children (each seen), once those named names all run."""
    deadline = time.monotonic() + 120
    found: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        assert bot.poll() is None, bot.communicate()
        for process in psutil.Process(bot.pid).children():
            with suppress(psutil.NoSuchProcess):
                found[process.name()] = process.cmdline()
        if names <= set(found):
            return found
        await asyncio.sleep(0.005)
    raise AssertionError(f"{names} never ran")
