"""`bookstore-bot check`: one line per check, exit 0 when the bot can run, else 1."""

from pathlib import Path

from bot.database import create_engine
from bot.postgres import migrate
from bot.postgres.health_check import head_revisions
from tests.conftest import TOKEN, temporary_database
from tests.test_command_line import bookstore_bot, plain_url


async def test_a_migrated_database_and_usable_settings_pass(
    server_url: str, tmp_path: Path
) -> None:
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection)
        await engine.dispose()
        result = await bookstore_bot(
            tmp_path, "check", BOT_TOKEN=TOKEN, DATABASE_URL=plain_url(url)
        )
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == "settings: usable"
    assert lines[1].startswith("database: reachable (PostgreSQL ")
    assert lines[2] == f"schema: up to date ({', '.join(sorted(head_revisions()))})"
    assert TOKEN not in result.stdout + result.stderr


async def test_pending_migrations_fail_the_check(server_url: str, tmp_path: Path) -> None:
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection, "0001")
        await engine.dispose()
        result = await bookstore_bot(
            tmp_path, "check", BOT_TOKEN=TOKEN, DATABASE_URL=plain_url(url)
        )
    assert result.returncode == 1
    assert result.stdout.splitlines()[2].startswith("schema: migrations pending (at 0001, newest ")
    assert result.stdout.endswith("run bookstore-bot migrate\n")


async def test_an_empty_database_needs_migrating(server_url: str, tmp_path: Path) -> None:
    async with temporary_database(server_url) as url:
        result = await bookstore_bot(
            tmp_path, "check", BOT_TOKEN=TOKEN, DATABASE_URL=plain_url(url)
        )
    assert result.returncode == 1
    assert "schema: migrations pending (at empty, newest " in result.stdout


async def test_an_unreachable_database_fails_in_one_line(tmp_path: Path) -> None:
    result = await bookstore_bot(
        tmp_path,
        "check",
        BOT_TOKEN=TOKEN,
        DATABASE_URL="postgresql://nobody:secret-password@127.0.0.1:1/x",
    )
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "settings: usable"
    assert result.stdout.splitlines()[1].startswith("database: unreachable (")
    assert len(result.stdout.splitlines()) == 2
    assert "secret-password" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


async def test_unusable_settings_fail_without_echoing_them(tmp_path: Path) -> None:
    result = await bookstore_bot(
        tmp_path, "check", BOT_TOKEN="SECRET-nonsense", DATABASE_URL="postgresql://x@h/db"
    )
    assert result.returncode == 1
    assert result.stdout.startswith("settings: invalid configuration: BOT_TOKEN: ")
    assert result.stdout.count("\n") == 1
    assert "SECRET" not in result.stdout + result.stderr


async def test_a_missing_token_fails_the_check(server_url: str, tmp_path: Path) -> None:
    async with temporary_database(server_url) as url:
        result = await bookstore_bot(tmp_path, "check", DATABASE_URL=plain_url(url))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "settings: BOT_TOKEN is not set"
