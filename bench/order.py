"""/order of a special request many readers asked for (issue 22): the request becomes a
catalog book, each reader a waiting reservation in the order they asked and an outbox
message in their language, in one transaction (SpecialOrderService.order). Timed against,
in the same run and database, the same work done one reader at a time (a loop of
inserts in one transaction: what a set-based order saves).

`python3 dev.py bench order [--readers N] [--runs N]`.
"""

import argparse
import os
import platform
import statistics
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.setup import FIRST_READER_ID, database_server, fresh_database
from bot.notifications.models import Notification
from bot.reservations.models import PreBooking
from bot.services import Shop, build_services
from bot.special_orders.models import RequestReader
from bot.telegram.reader_messages import TelegramMessages

ADMIN_ID = 1
REQUEST_ID = 1
LANGUAGES = ("en", "ru", "es")


async def seed(engine: AsyncEngine, readers: int) -> None:
    """One open request (by title and author) and readers who asked for it, in three
    languages."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, first_name, language) "
                "SELECT n, n, 'Reader ' || n, (ARRAY['en', 'ru', 'es'])[1 + n % 3] "
                "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n"
            ),
            {"first": FIRST_READER_ID, "last": FIRST_READER_ID + readers - 1},
        )
        await connection.execute(
            text(
                "INSERT INTO book_requests (title, author, match_key) "
                "VALUES ('Solaris', 'Stanislaw Lem', 'words:solaris|stanislaw lem')"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO book_request_readers (request_id, user_id) "
                "SELECT 1, id FROM users ORDER BY id"
            )
        )


async def reset(engine: AsyncEngine) -> None:
    """The request open again, as before its order."""
    async with engine.begin() as connection:
        for statement in (
            "DELETE FROM notifications",
            "UPDATE book_request_readers SET pre_booking_id = NULL",
            "UPDATE book_requests SET status = 'open', book_id = NULL, decided_at = NULL, "
            "decided_by = NULL",
            "DELETE FROM pre_bookings",
            "DELETE FROM books",
        ):
            await connection.execute(text(statement))
    autocommit = await engine.connect()
    try:
        await autocommit.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
    finally:
        await autocommit.close()


async def time_order(engine: AsyncEngine, readers: int) -> float:
    services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN_ID})))
    started = time.perf_counter()
    report = await services.special_orders.order(ADMIN_ID, REQUEST_ID)
    spent = time.perf_counter() - started
    assert report.reserved == readers, report
    return spent


async def time_loop(engine: AsyncEngine, readers: int) -> float:
    """The same rows written one reader at a time, in one transaction."""
    started = time.perf_counter()
    async with AsyncSession(engine) as session, session.begin():
        book_id = await session.scalar(
            text(
                "INSERT INTO books (title, author, title_key, author_key, search_vector) "
                "VALUES ('Solaris', 'Stanislaw Lem', 'solaris', 'stanislaw lem', "
                "'''solaris'' ''stanislaw'' ''lem''') RETURNING id"
            )
        )
        rows = await session.execute(
            text(
                "SELECT r.id, r.user_id, u.chat_id FROM book_request_readers r "
                "JOIN users u ON u.id = r.user_id WHERE r.request_id = 1 ORDER BY r.id"
            )
        )
        for row_id, user_id, chat_id in rows.all():
            reservation = PreBooking(user_id=user_id, book_id=book_id)
            session.add(reservation)
            await session.flush()
            request_reader = await session.get(RequestReader, row_id)
            assert request_reader is not None
            request_reader.pre_booking_id = reservation.id
            session.add(
                Notification(
                    pre_booking_id=reservation.id,
                    request_reader_id=row_id,
                    chat_id=chat_id,
                    kind="ordered",
                    text="ordered",
                )
            )
            await session.flush()
        await session.execute(
            text("UPDATE book_requests SET status = 'ordered', book_id = :book"),
            {"book": book_id},
        )
    return time.perf_counter() - started


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench order")
    parser.add_argument("--readers", type=int, default=5000, help="readers who asked")
    parser.add_argument("--runs", type=int, default=5, help="runs of each way")
    options = parser.parse_args(argv)
    timings: dict[str, list[float]] = {"set-based /order": [], "loop per reader": []}
    with database_server() as server_url:
        async with fresh_database(server_url) as (_, engine):
            await seed(engine, options.readers)
            for run in range(options.runs):
                for name, timed in (
                    ("set-based /order", time_order),
                    ("loop per reader", time_loop),
                ):  # alternate, so drift hits both alike
                    await reset(engine)
                    timings[name].append(await timed(engine, options.readers))
                    print(f"run {run + 1} {name}: {timings[name][-1]:.3f} s", flush=True)
    print()
    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Command: `python3 dev.py bench order --readers "
        f"{options.readers} --runs {options.runs}`."
    )
    print()
    print(f"/order of a request {options.readers} readers asked for, medians of {options.runs}:")
    print()
    print("| | median (s) | runs (s) |")
    print("| --- | --- | --- |")
    for name, spent in timings.items():
        runs = ", ".join(f"{value:.3f}" for value in spent)
        print(f"| {name} | {statistics.median(spent):.3f} | {runs} |")
