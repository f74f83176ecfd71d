"""The installed `bookstore-bot` command, run as a bookstore would run it."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_run_without_token_starts_the_playground_and_ctrl_c_stops_it(data_dir: Path) -> None:
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment.update(DATA_DIR=str(data_dir), PLAYGROUND_PORT=str(port))
    started = time.monotonic()
    bot = subprocess.Popen(
        [COMMAND, "run"],
        cwd=data_dir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert bot.stdout is not None
        assert bot.stdout.readline() == (
            f"No BOT_TOKEN: starting the playground at http://127.0.0.1:{port}; "
            "set BOT_TOKEN to run the real bot\n"
        )
        state = wait_for_page(f"http://127.0.0.1:{port}/api/state", started + 60)
        assert [persona["role"] for persona in state["personas"]] == ["reader", "reader", "staff"]
        bot.send_signal(signal.SIGINT)
        assert bot.wait(timeout=30) == 0
    finally:
        bot.kill()
        _, stderr = bot.communicate()
    assert "Playground ready at" in stderr
    assert "Traceback" not in stderr
    # its own database, beside the shop's
    assert (data_dir / "playground" / "pgdata").is_dir()
    assert not (data_dir / "pgdata").exists()


def wait_for_page(url: str, deadline: float) -> dict[str, Any]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                answer: dict[str, Any] = json.load(response)
                return answer
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def chat_texts(url: str, persona: int) -> list[str]:
    with urllib.request.urlopen(f"{url}/api/state", timeout=5) as response:  # noqa: S310
        state: dict[str, Any] = json.load(response)
    return [m["text"] for m in state["chats"][str(persona)] if m["from_bot"]]


def say(url: str, persona: int, text: str) -> None:
    request = urllib.request.Request(  # noqa: S310
        f"{url}/api/send",
        data=json.dumps({"persona": persona, "text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass


def bot_says(url: str, persona: int, start: str, timeout: float = 20) -> str:
    """The first message to the persona that starts with start, waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [text for text in chat_texts(url, persona) if text.startswith(start)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {start!r} for {persona}: {chat_texts(url, persona)}")


def test_the_playground_runs_the_shops_policy_time_zone_and_hold_expiry(data_dir: Path) -> None:
    """RESTOCK_POLICY, PICKUP_WINDOW and TIMEZONE as the bot has them, the expiry loop too."""
    alice, ben, dana = 1001, 1002, 9001
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment.update(
        DATA_DIR=str(data_dir),
        RESTOCK_POLICY="hold_in_line",
        PICKUP_WINDOW="3",  # seconds: the copy passes on while we watch
        PICKUP_REMINDER="0",
        TIMEZONE="Asia/Kathmandu",  # UTC+5:45: no other zone's minutes look like it
    )
    started = time.monotonic()
    playground = subprocess.Popen(
        [COMMAND, "playground", "--port", str(port)],
        cwd=data_dir,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_page(f"{url}/api/state", started + 60)
        say(url, alice, "/reserve 1")
        bot_says(url, alice, "Reserved")
        say(url, ben, "/reserve 1")
        bot_says(url, ben, "Reserved")
        say(url, alice, "/myreservations")
        assert "+0545" in bot_says(url, alice, "<b>Your reservations</b>")
        say(url, dana, "/restock 1 1")
        assert "1 copy set aside for the first 1 of 2" in bot_says(url, dana, "Stock of #1")
        offer = bot_says(url, alice, "📦 A copy of <b>Dune</b>")
        kathmandu = datetime.now(ZoneInfo("Asia/Kathmandu"))
        assert f":{kathmandu:%M}" in offer or f":{kathmandu + timedelta(minutes=1):%M}" in offer
        assert "has gone to the next reader" in bot_says(url, alice, "The copy of <b>Dune</b>")
        bot_says(url, ben, "📦 A copy of <b>Dune</b>")
        playground.send_signal(signal.SIGINT)
        assert playground.wait(timeout=30) == 0
    finally:
        playground.kill()
        _, stderr = playground.communicate()
    assert "Traceback" not in stderr


def test_playground_refuses_other_machines_unless_asked(tmp_path: Path) -> None:
    result = subprocess.run(
        [COMMAND, "playground", "--host", "0.0.0.0", "--port", str(free_port())],  # noqa: S104
        cwd=tmp_path,
        env={key: value for key, value in os.environ.items() if key not in SETTINGS},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "bookstore-bot: error: 0.0.0.0 can be reached from other machines: "
        "pass --allow-remote to listen there\n"
    )


@pytest.mark.parametrize(
    "production",
    [
        {"DATABASE_URL": "postgresql://shop@127.0.0.1:1/shop"},
        {"WEBHOOK_URL": "https://bot.example.com/telegram", "WEBHOOK_SECRET": "s3cret"},
    ],
    ids=["database", "webhook"],
)
async def test_run_without_token_beside_production_settings_is_one_line(
    data_dir: Path, production: dict[str, str]
) -> None:
    """A token forgotten in production is a mistake to name, not a wish to try the
    playground (which would ignore DATABASE_URL and answer nobody)."""
    result = await bookstore_bot(
        data_dir,
        "run",
        DATA_DIR=str(data_dir),
        PLAYGROUND_PORT=str(free_port()),
        **production,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"bookstore-bot: error: BOT_TOKEN is not set, but {' and '.join(production)} "
        f"{'is' if len(production) == 1 else 'are'}: set BOT_TOKEN (from @BotFather), "
        "or try the bot without one: bookstore-bot playground\n"
    )
    assert not (data_dir / "playground").exists()


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


async def test_each_command_prints_its_own_lines_only(server_url: str, tmp_path: Path) -> None:
    """No library's chatter around them (alembic's context, fontTools' subsetting): the
    libraries log at WARNING unless LOG_LEVEL=DEBUG."""
    (tmp_path / "catalog.csv").write_text("title,author,quantity\nDune,Frank Herbert,0\n")
    commands = {
        "import-books": ["import-books", "catalog.csv"],
        "migrate": ["migrate"],
        "check": ["check"],
        "backup": ["backup", "shop.dump"],
        "shelf-tags": ["shelf-tags", "--output", "tags.pdf", "--bot-username", "shop_bot"],
    }
    async with temporary_database(server_url) as url:
        shop = {
            "DATABASE_URL": plain_url(url),
            "BOT_TOKEN": "123456:" + "A" * 30,
            "LOG_LEVEL": "INFO",
        }
        # the catalog first (its migration included), then the rest side by side
        first = await bookstore_bot(tmp_path, *commands.pop("import-books"), **shop)
        rest = await asyncio.gather(
            *(bookstore_bot(tmp_path, *args, **shop) for args in commands.values())
        )
    printed = {
        name: (result.returncode, result.stderr, len(result.stdout.splitlines()))
        for name, result in zip(["import-books", *commands], [first, *rest], strict=True)
    }
    assert printed == {
        "import-books": (0, "", 1),
        "migrate": (0, "", 1),
        "check": (0, "", 3),
        "backup": (0, "", 1),
        "shelf-tags": (0, "", 1),
    }
