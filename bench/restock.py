"""The restock transaction alone: 0 → 5 for a book that many readers wait for."""

import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.setup import BOOK_ID, seed_waiting_readers
from bot.restocks.schemas import Restock
from bot.services import build_services
from bot.telegram.texts import reservations

ADMIN_ID = 1


async def time_restocks(engine: AsyncEngine, readers: int, runs: int) -> list[float]:
    """Seconds each restock took, the waiting reset between runs."""
    await seed_waiting_readers(engine, readers)
    services = build_services(engine, frozenset({ADMIN_ID}), reservations.back_in_stock)
    timings = []
    for _ in range(runs):
        await _reset(engine)
        started = time.perf_counter()
        restock = await services.restocks.restock(ADMIN_ID, BOOK_ID, 5)
        timings.append(time.perf_counter() - started)
        assert isinstance(restock, Restock)
        assert restock.notified == readers
    return timings


async def _reset(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM notifications"))
        await connection.execute(text("DELETE FROM restocks"))
        await connection.execute(
            text("UPDATE pre_bookings SET status = 'waiting', notified_at = NULL")
        )
        await connection.execute(text("UPDATE books SET stock_quantity = 0"))
    autocommit = await engine.connect()
    try:
        await autocommit.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
    finally:
        await autocommit.close()
