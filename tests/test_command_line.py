"""The installed `bookstore-bot` command, run as a bookstore would run it."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.database import create_engine
from tests.conftest import temporary_database

COMMAND = str(Path(sys.executable).parent / "bookstore-bot")
SETTINGS = ("BOT_TOKEN", "DATABASE_URL", "ADMIN_IDS", "TELEGRAM_BASE_URL", "DATA_DIR")


async def bookstore_bot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment.update(env)
    return await asyncio.to_thread(
        subprocess.run,
        [COMMAND, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def plain_url(url: str) -> str:
    """The URL as a host hands it out: postgresql://, no driver."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_run_without_token_says_so_in_one_line(tmp_path: Path) -> None:
    result = await bookstore_bot(tmp_path, "run")
    assert result.returncode == 2
    assert result.stderr == (
        "bookstore-bot: error: BOT_TOKEN is not set: get a token from @BotFather and set it\n"
    )


async def test_malformed_settings_are_one_line_without_secrets(tmp_path: Path) -> None:
    result = await bookstore_bot(tmp_path, "run", BOT_TOKEN="SECRET-nonsense", ADMIN_IDS="x")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "BOT_TOKEN: does not look like a token" in result.stderr
    assert "ADMIN_IDS: 'x' is not a Telegram user id" in result.stderr
    assert "SECRET" not in result.stderr
    assert "Traceback" not in result.stderr


async def test_migrate_and_import_from_any_folder(server_url: str, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "title,author,quantity\n"
        "Dune,Frank Herbert,0\n"
        '"War and Peace, vol. 1",Leo Tolstoy,2\n'
        "Emma,Jane Austen,lots\n"
        "\n"
        "dune,frank herbert,1\n",
        encoding="utf-8",
    )
    async with temporary_database(server_url) as url:
        migrated = await bookstore_bot(tmp_path, "migrate", DATABASE_URL=plain_url(url))
        assert migrated.returncode == 0, migrated.stderr
        assert migrated.stdout == "Database is up to date.\n"

        imported = await bookstore_bot(
            tmp_path, "import-books", "catalog.csv", DATABASE_URL=plain_url(url)
        )
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout == (
            "Imported 2 books.\n"
            "Rejected 2:\n"
            "  line 4: The quantity must be a whole number from 0 to 1,000,000.\n"
            "  line 6: The same title and author are already on line 2.\n"
        )
        engine = create_engine(url)
        async with engine.connect() as connection:
            titles = await connection.scalars(text("SELECT title FROM books ORDER BY id"))
            assert list(titles) == ["Dune", "War and Peace, vol. 1"]
        await engine.dispose()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("name,writer\nDune,Herbert\n", "the first line must be the header"),
        (b"\xff\xfe\x00garbage", "is not a UTF-8 CSV file"),
    ],
)
async def test_import_of_an_unusable_file(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "catalog.csv"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = await bookstore_bot(
        tmp_path, "import-books", str(path), DATABASE_URL="postgresql://nobody@127.0.0.1:1/x"
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
