"""A database and readers for the benchmarks: the same parts the tests use."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from bot.books.repository import BookRepository
from bot.books.schemas import NewBook
from bot.database import async_database_url, create_engine
from bot.postgres import migrate
from bot.postgres.embedded import start_embedded_postgres

BOOK_ID = 1
FIRST_READER_ID = 100_000


@contextmanager
def database_server() -> Iterator[str]:
    """BENCH_DATABASE_URL's (or TEST_DATABASE_URL's) server, else an embedded one."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with TemporaryDirectory(prefix="bookstore-bench-") as folder:
        server = start_embedded_postgres(Path(folder))
        try:
            yield server.url
        finally:
            server.release()


@asynccontextmanager
async def fresh_database(
    server_url: str, migrated: bool = True
) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A new database, with the schema migrated unless told not to, dropped afterwards."""
    name = f"bookstore_bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(async_database_url(server_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = async_database_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        if migrated:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
        yield url, engine
    finally:
        await engine.dispose()
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def seed_waiting_readers(engine: AsyncEngine, count: int) -> list[int]:
    """One sold-out book and count readers waiting for it; returns their chat ids."""
    # Through the repository, which folds the title and author into their keys.
    async with AsyncSession(engine) as session, session.begin():
        await BookRepository(session).add(NewBook("Dune", "Frank Herbert", 0))
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, first_name) "
                "SELECT n, n, 'Reader ' || n "
                "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n"
            ),
            {"first": FIRST_READER_ID, "last": FIRST_READER_ID + count - 1},
        )
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (user_id, book_id) "
                "SELECT id, :book FROM users ORDER BY id"
            ),
            {"book": BOOK_ID},
        )
        await connection.execute(text("ANALYZE"))
    return list(range(FIRST_READER_ID, FIRST_READER_ID + count))
