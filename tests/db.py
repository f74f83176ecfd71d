"""Looking at the database directly, to check what a test changed (or didn't)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.schemas import BookView
from bot.services import Services
from tests.chat import ADMIN


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after a refused request."""
    tables = {}
    async with engine.connect() as connection:
        for table in ("users", "books", "pre_bookings", "restocks", "notifications"):
            rows = await connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))  # noqa: S608
            tables[table] = [tuple(row) for row in rows]
    return tables


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql), params)]


async def add_books(services: Services, *books: tuple[str, str, int]) -> list[BookView]:
    return [await services.books.add_book(ADMIN.id, *book) for book in books]


@asynccontextmanager
async def failing_trigger(
    engine: AsyncEngine, table: str, event: str, message: str, condition: str = "true"
) -> AsyncIterator[None]:
    """Make the database itself refuse some writes, as a real failure would."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
            )
        )
        await connection.execute(
            text(
                f"CREATE TRIGGER refuse_write {event} ON {table} FOR EACH ROW "
                f"WHEN ({condition}) EXECUTE FUNCTION refuse_write()"
            )
        )
    try:
        yield
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TRIGGER refuse_write ON {table}"))
            await connection.execute(text("DROP FUNCTION refuse_write()"))


async def outbox_settled(engine: AsyncEngine, limit_seconds: float = 30) -> None:
    """Wait until no notification is pending (claimed or not)."""
    async with asyncio.timeout(limit_seconds):
        while await rows(engine, "SELECT 1 FROM notifications WHERE status = 'pending'"):
            await asyncio.sleep(0.05)


async def open_server_connection(
    server_url: str,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection to the test server, for proxies in front of it: over TCP, or over
    its Unix socket when the URL names a folder (the embedded server's)."""
    url = make_url(server_url)
    port = url.port or 5432
    if url.host:
        return await asyncio.open_connection(url.host, port)
    folder = url.query["host"]
    assert isinstance(folder, str)
    return await asyncio.open_unix_connection(f"{folder}/.s.PGSQL.{port}")
