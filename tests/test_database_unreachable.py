"""A DATABASE_URL that doesn't lead to a database: one line naming what to check, and
`run` started beside a database still booting waits for it."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.chat import ALICE
from tests.conftest import TOKEN, temporary_database
from tests.db import open_server_connection
from tests.fake_bot_api_server import running_fake_bot_api
from tests.test_command_line import bookstore_bot, free_port, plain_url
from tests.test_polling_end_to_end import logged, reply_to, start_bot, stop_bot

PASSWORD = "pw-never-shown"


async def test_each_wrong_url_is_one_line_naming_what_to_check(
    server_url: str, tmp_path: Path
) -> None:
    server = make_url(server_url)
    wrong = {
        "refused": make_url(f"postgresql://shop:{PASSWORD}@127.0.0.1:{free_port()}/shop"),
        "role": server.set(username="nobody", password=PASSWORD, database="postgres"),
        "database": server.set(database="no_such_shop", password=PASSWORD),
    }
    results = await asyncio.gather(
        *(
            bookstore_bot(
                tmp_path,
                "migrate",
                DATABASE_URL=plain_url(url.render_as_string(hide_password=False)),
            )
            for url in wrong.values()
        )
    )
    said = dict(zip(wrong, results, strict=True))
    for result in said.values():
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr.count("\n") == 1, result.stderr
        assert PASSWORD not in result.stderr
    assert "check DATABASE_URL's host and port" in said["refused"].stderr
    assert 'role "nobody" does not exist' in said["role"].stderr
    assert "check DATABASE_URL's user and password" in said["role"].stderr
    assert 'database "no_such_shop" does not exist' in said["database"].stderr
    assert "check DATABASE_URL's database name" in said["database"].stderr


async def test_run_gives_up_on_a_refusing_database_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    result = await bookstore_bot(
        tmp_path,
        "run",
        BOT_TOKEN=TOKEN,
        DATABASE_URL=f"postgresql://shop:{PASSWORD}@127.0.0.1:{port}/shop",
        DATABASE_WAIT_SECONDS="1",
    )
    waiting, error = result.stderr.splitlines()
    assert f"Waiting up to 1 s for the database at 127.0.0.1:{port}" in waiting
    assert error.startswith(f"bookstore-bot: error: the database at 127.0.0.1:{port} refused")
    assert result.returncode == 2
    assert PASSWORD not in result.stderr


@contextlib.asynccontextmanager
async def forwarding(port: int, server_url: str) -> AsyncIterator[None]:
    """A TCP proxy on port to the real server: the database appears there, as one that
    has just finished booting."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def connect(client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await open_server_connection(server_url)
        await asyncio.gather(pipe(client_in, server_out), pipe(server_in, client_out))

    proxy = await asyncio.start_server(connect, "127.0.0.1", port)
    async with proxy:
        yield


async def test_run_waits_for_a_database_that_is_still_starting(
    server_url: str, tmp_path: Path
) -> None:
    port = free_port()
    async with temporary_database(server_url) as url:
        target = make_url(url)
        proxied = plain_url(
            target.set(host="127.0.0.1", port=port)
            .difference_update_query(["host"])
            .render_as_string(hide_password=False)
        )
        with running_fake_bot_api() as telegram:
            bot = start_bot(tmp_path, telegram, DATABASE_URL=proxied, DATABASE_WAIT_SECONDS="60")
            try:
                async with asyncio.timeout(30):
                    while "Waiting up to 60 s for the database" not in logged(bot):
                        assert bot.poll() is None, logged(bot)
                        await asyncio.sleep(0.1)
                async with forwarding(port, server_url):
                    telegram.send_text(ALICE, "/start")
                    await asyncio.to_thread(telegram.wait_for, reply_to(ALICE.id, "Hello"), 60)
                    output = await stop_bot(bot)
            finally:
                bot.kill()
    assert bot.returncode == 0, output
    assert output.count("Waiting up to") == 1
    assert "Traceback" not in output
