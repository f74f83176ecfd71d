"""DATABASE_URL options as hosts hand them out (libpq's spelling), against a real server."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import Settings, SettingsError, load_settings
from bot.database import create_engine
from tests.conftest import temporary_database
from tests.test_command_line import bookstore_bot, plain_url


def with_options(url: str, **options: str) -> str:
    """The URL as a host hands it out, with these libpq options in its query."""
    parsed = make_url(plain_url(url))
    return parsed.update_query_dict(options).render_as_string(hide_password=False)


async def show(url: str, *settings: str) -> list[str]:
    """What the server says these settings are on a connection made from the URL."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [str(await connection.scalar(text(f"SHOW {name}"))) for name in settings]
    finally:
        await engine.dispose()


@pytest.fixture
async def url(server_url: str) -> AsyncIterator[str]:
    async with temporary_database(server_url) as url:
        yield url


async def test_application_name_is_what_the_server_sees(url: str) -> None:
    named = with_options(url, application_name="bookstore-bot-test")
    engine = create_engine(named)
    try:
        async with engine.connect() as connection:
            seen = await connection.scalar(
                text("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            )
    finally:
        await engine.dispose()
    assert seen == "bookstore-bot-test"


async def test_options_set_server_settings(url: str) -> None:
    configured = with_options(url, options="-c search_path=shop,public -c statement_timeout=12345")
    assert await show(configured, "search_path", "statement_timeout") == [
        "shop,public",
        "12345ms",
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"connect_timeout": "10"},
        {"target_session_attrs": "read-write"},
        {"sslmode": "disable"},
        {"sslmode": "prefer"},
        {"channel_binding": "prefer", "sslmode": "prefer"},
        {"fallback_application_name": "bookstore"},
        {
            "connect_timeout": "10",
            "application_name": "bookstore",
            "options": "-c statement_timeout=60000",
            "target_session_attrs": "read-write",
            "sslmode": "prefer",
        },
    ],
)
async def test_host_options_connect(url: str, options: dict[str, str]) -> None:
    assert load_settings_with(with_options(url, **options)).database_url
    assert await show(with_options(url, **options), "server_version")


async def test_connect_timeout_is_honoured() -> None:
    """A server that accepts the connection and never answers: give up after connect_timeout."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the bot hangs up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = create_engine(f"postgresql://nobody@127.0.0.1:{port}/shop?connect_timeout=1")
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
        server.close()
    # The default would have waited 5 s.
    assert time.monotonic() - started < 3


def load_settings_with(database_url: str) -> Settings:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", database_url)
        return load_settings()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sslmod=require", "DATABASE_URL: unsupported option 'sslmod'"),
        ("keepalives=1", "DATABASE_URL: unsupported option 'keepalives'"),
        ("sslmode=sometimes", "DATABASE_URL: sslmode must be one of disable, allow, prefer"),
        ("target_session_attrs=any-will-do", "DATABASE_URL: target_session_attrs must be one of"),
        ("connect_timeout=soon", "DATABASE_URL: connect_timeout must be a whole number"),
        (
            "sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
            "DATABASE_URL: sslrootcert file /nonexistent/root.crt does not exist",
        ),
        ("sslcert=/nonexistent/client.crt", "DATABASE_URL: sslcert file /nonexistent/client.crt"),
        ("sslmode=require&sslrootcert=system", "DATABASE_URL: sslrootcert=system needs sslmode"),
    ],
)
def test_unusable_options_are_refused_at_load(query: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings_with(f"postgresql://shop:SECRET@db.example/shop?{query}")
    assert message in str(error.value)
    assert "SECRET" not in str(error.value)
    assert "\n" not in str(error.value)


async def test_missing_root_certificate_is_a_clear_error(url: str, tmp_path: Path) -> None:
    missing = tmp_path / "root.crt"
    result = await bookstore_bot(
        tmp_path,
        "migrate",
        DATABASE_URL=with_options(url, sslmode="verify-full", sslrootcert=str(missing)),
    )
    assert result.returncode == 2
    assert result.stderr == (
        "bookstore-bot: error: invalid configuration: DATABASE_URL: "
        f"sslrootcert file {missing} does not exist\n"
    )


async def test_migrate_with_a_host_url(url: str, tmp_path: Path) -> None:
    host_url = with_options(
        url,
        connect_timeout="10",
        application_name="bookstore-migrate",
        options="-c statement_timeout=60000",
        target_session_attrs="read-write",
        sslmode="prefer",
        channel_binding="prefer",
    )
    result = await bookstore_bot(tmp_path, "migrate", DATABASE_URL=host_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Database is up to date.\n"


async def test_migrate_refuses_an_unknown_option_in_one_line(tmp_path: Path) -> None:
    result = await bookstore_bot(
        tmp_path, "migrate", DATABASE_URL="postgresql://u:SECRET@127.0.0.1/shop?sslmod=require"
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "bookstore-bot: error: invalid configuration: DATABASE_URL: unsupported option 'sslmod'"
    )
    assert result.stderr.count("\n") == 1
    assert "SECRET" not in result.stderr
