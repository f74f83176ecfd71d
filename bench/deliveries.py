"""/deliveries at 100,000 readers: counting a book's messages kind by kind, against the
count of one restock's rows by status that it replaced. Run:
`.venv/bin/python -m bench.deliveries [--waiting N] [--runs N]`.

The worst case for the new count is a notify_all line: the restock's 100,000 rows are
counted as before, and the book's reservations are read once more to find any that were
ever held (none, under notify_all).
"""

import argparse
import asyncio
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.setup import BOOK_ID, database_server, fresh_database, seed_waiting_readers
from bot.database import create_session_factory
from bot.notifications.models import Notification
from bot.notifications.repository import NotificationRepository
from bot.services import build_services
from bot.telegram.texts import reservations

ADMIN_ID = 1


async def time_counts(engine: AsyncEngine, runs: int) -> dict[str, list[float]]:
    """Seconds per count, runs of each, alternating so drift hits both alike."""
    services = build_services(engine, frozenset({ADMIN_ID}), reservations.back_in_stock)
    await services.restocks.restock(ADMIN_ID, BOOK_ID, 5)
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    sessions = create_session_factory(engine)

    async def by_status() -> None:
        async with sessions() as session:
            restock = await NotificationRepository(session).latest_notifying_restock(BOOK_ID)
            assert restock is not None
            await session.execute(
                select(Notification.status, func.count())
                .where(Notification.restock_id == restock.id)
                .group_by(Notification.status)
            )

    async def by_kind() -> None:
        async with sessions() as session:
            notifications = NotificationRepository(session)
            restock = await notifications.latest_notifying_restock(BOOK_ID)
            assert restock is not None
            await notifications.counts_since(restock)

    counts: dict[str, Callable[[], Awaitable[None]]] = {
        "kind by kind, hold messages included (after)": by_kind,
        "the restock's rows by status (before)": by_status,
    }
    timings: dict[str, list[float]] = {label: [] for label in counts}
    for _ in range(runs):
        for label, count in counts.items():
            started = time.perf_counter()
            await count()
            timings[label].append(time.perf_counter() - started)
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.deliveries")
    parser.add_argument("--waiting", type=int, default=100_000, help="readers notified")
    parser.add_argument("--runs", type=int, default=20, help="runs of each count")
    options = parser.parse_args()
    with database_server() as server_url:
        async with fresh_database(server_url) as (_, engine):
            await seed_waiting_readers(engine, options.waiting)
            timings = await time_counts(engine, options.runs)
    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}. Command: "
        f"`.venv/bin/python -m bench.deliveries --waiting {options.waiting} --runs "
        f"{options.runs}`. A notify_all restock of {options.waiting:,} readers; medians of "
        f"{options.runs} (p90 in brackets), milliseconds:\n"
    )
    print("| /deliveries' count | median (p90) |")
    print("| --- | --- |")
    for label, values in timings.items():
        ms = sorted(1000 * value for value in values)
        p90 = ms[int(len(ms) * 0.9) - 1]
        print(f"| {label} | **{statistics.median(ms):.1f}** ({p90:.1f}) |")


if __name__ == "__main__":
    asyncio.run(main())
