"""The pool checks a connection before use only when it has been idle: in a burst of
presses every checkout's check (three round trips) cost a third of the database time."""

import asyncio

from sqlalchemy import text

from bot.database import PING_AFTER_IDLE_SECONDS, create_engine

PING = ";"  # what SQLAlchemy's asyncpg dialect sends to check a connection


async def test_a_connection_used_just_now_is_not_checked_but_an_idle_one_is(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    queries: list[str] = []
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            raw.add_query_logger(lambda record: queries.append(record.query))
            await connection.execute(text("SELECT 1"))

        async with engine.connect() as connection:  # the same pooled connection, at once
            await connection.execute(text("SELECT 2"))
        assert PING not in queries

        await asyncio.sleep(PING_AFTER_IDLE_SECONDS + 0.1)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 3"))
        assert queries.count(PING) == 1
    finally:
        await engine.dispose()
