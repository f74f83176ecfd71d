"""`bookstore-bot backup` and `restore` at their edges: a dump the restore can't hold in one
transaction, a backup from a newer bot, a backup stopped midway."""

import asyncio
import os
import signal
from pathlib import Path

import psutil
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.database import create_engine
from bot.postgres.libpq import connection_options
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN
from tests.conftest import temporary_database
from tests.db import add_books
from tests.test_backup_restore import everything, migrated_database, programs_waiting, start
from tests.test_command_line import bookstore_bot, plain_url


async def test_a_dump_with_large_objects_is_refused_and_changes_nothing(
    server_url: str, tmp_path: Path
) -> None:
    """pg_restore wraps large objects in a BEGIN and COMMIT of its own, which would end the
    restore's one transaction part-way: such a dump is refused before anything is done."""
    async with temporary_database(server_url) as source_url:
        source = create_engine(source_url)
        try:
            async with source.begin() as connection:
                await connection.execute(text("CREATE TABLE notes (body text)"))
                await connection.execute(text("INSERT INTO notes VALUES ('a')"))
                await connection.execute(text("SELECT lo_from_bytea(0, 'x')"))
        finally:
            await source.dispose()
        made = await bookstore_bot(
            tmp_path, "backup", "lo.dump", DATABASE_URL=plain_url(source_url)
        )
        assert made.returncode == 0, made.stderr
    async with temporary_database(server_url) as target_url:
        target = await migrated_database(target_url)
        try:
            services = build_services(target, TelegramMessages(), Shop(frozenset({ADMIN.id})))
            await add_books(services, ("Dune", "Frank Herbert", 1))
            before = await everything(target)
            refused = await bookstore_bot(
                tmp_path, "restore", "--force", "lo.dump", DATABASE_URL=plain_url(target_url)
            )
            assert refused.returncode == 2, refused
            assert refused.stderr.startswith("bookstore-bot: error: lo.dump holds large objects")
            assert refused.stderr.count("\n") == 1, refused.stderr
            await target.dispose()
            assert await everything(target) == before
        finally:
            await target.dispose()


async def test_a_backup_from_a_newer_bot_is_restored_and_the_failed_migration_said(
    server_url: str, tmp_path: Path
) -> None:
    async with temporary_database(server_url) as source_url:
        source = await migrated_database(source_url)
        try:
            async with source.begin() as connection:
                await connection.execute(
                    text("UPDATE alembic_version SET version_num = '0099_from_a_newer_bot'")
                )
        finally:
            await source.dispose()
        made = await bookstore_bot(
            tmp_path, "backup", "new.dump", DATABASE_URL=plain_url(source_url)
        )
        assert made.returncode == 0, made.stderr
    async with temporary_database(server_url) as target_url:
        restored = await bookstore_bot(
            tmp_path, "restore", "new.dump", DATABASE_URL=plain_url(target_url)
        )
        assert restored.returncode == 2, restored
        assert restored.stderr.startswith(
            "bookstore-bot: error: restored new.dump, but bringing the schema up to date failed: "
        ), restored.stderr
        assert "bookstore-bot migrate" in restored.stderr
        assert restored.stderr.count("\n") == 1, restored.stderr
        target = create_engine(target_url)
        try:
            async with target.connect() as connection:
                version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            assert version == "0099_from_a_newer_bot"
        finally:
            await target.dispose()


async def test_a_backup_stopped_by_sigterm_leaves_nothing_behind(
    server_url: str, tmp_path: Path
) -> None:
    """No partial dump, no service file holding sslpassword, no pg_dump running on."""
    async with temporary_database(server_url) as url:
        secret_url = (
            make_url(plain_url(url))
            .update_query_dict({"sslmode": "prefer", "sslpassword": "the-keys-password"})
            .render_as_string(hide_password=False)
        )
        engine = await migrated_database(url)
        try:
            async with engine.connect() as holder:
                # pg_dump waits on it, so it is surely running when the bot is stopped.
                await holder.execute(text("LOCK TABLE books IN ACCESS EXCLUSIVE MODE"))
                bot = start(tmp_path, "backup", "shop.dump", secret_url)
                await programs_waiting(bot, {"pg_dump"})
                [dump] = [p for p in psutil.Process(bot.pid).children() if p.name() == "pg_dump"]
                service_file = Path(dump.environ()["PGSERVICEFILE"])
                assert await asyncio.to_thread(service_file.exists)
                bot.send_signal(signal.SIGTERM)
                _, errors = await asyncio.to_thread(bot.communicate, timeout=60)
                await holder.rollback()
        finally:
            await engine.dispose()
    assert bot.returncode == 2, errors
    assert errors == "bookstore-bot: error: stopped by SIGTERM: no backup written\n"
    assert await asyncio.to_thread(os.listdir, tmp_path) == []
    assert not await asyncio.to_thread(service_file.parent.exists)
    assert not dump.is_running() or dump.status() == psutil.STATUS_ZOMBIE


async def test_a_data_line_like_a_newer_servers_setting_is_restored(
    server_url: str, tmp_path: Path
) -> None:
    """The setting older servers refuse is left out of the header only, never out of data."""
    async with temporary_database(server_url) as source_url:
        source = create_engine(source_url)
        try:
            async with source.begin() as connection:
                await connection.execute(text("CREATE TABLE notes (body text)"))
                await connection.execute(
                    text("INSERT INTO notes VALUES ('SET transaction_timeout = 0;'), ('b')")
                )
        finally:
            await source.dispose()
        made = await bookstore_bot(
            tmp_path, "backup", "notes.dump", DATABASE_URL=plain_url(source_url)
        )
        assert made.returncode == 0, made.stderr
    async with temporary_database(server_url) as target_url:
        # (The notes have no alembic_version: the restore migrates them, which adds tables.)
        await bookstore_bot(tmp_path, "restore", "notes.dump", DATABASE_URL=plain_url(target_url))
        target = create_engine(target_url)
        try:
            async with target.connect() as connection:
                notes = list(await connection.scalars(text("SELECT body FROM notes ORDER BY 1")))
        finally:
            await target.dispose()
    assert notes == ["SET transaction_timeout = 0;", "b"]


def test_the_programs_read_the_url_as_the_bot_does() -> None:
    """An IPv6 zone is unquoted; sslmode wins over ssl, as in bot/database_url.py."""
    zone = connection_options("postgresql://u@[fe80::1%25eth0]:5433/d")
    assert (zone["host"], zone["port"]) == ("fe80::1%eth0", "5433")
    for query in ("sslmode=require&ssl=disable", "ssl=disable&sslmode=require"):
        assert connection_options(f"postgresql://u@h/d?{query}")["sslmode"] == "require"
