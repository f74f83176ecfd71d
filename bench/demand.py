"""/demand on a busy shop: 100,000 readers waiting (and the last months' history), the
report as staff get it: the query, the chart and CSV, and the whole command through the
real Application on the fake Bot API (text, photo and document sent).

Alone: `python -m bench.demand [--waiting N] [--books N] [--runs N] [--holds]`; with
--holds the shop runs RESTOCK_POLICY=hold_in_line and the history is of holds (set aside,
collected, released, expired, cancelled) with a copy on hold for every tenth reader.
"""

import argparse
import asyncio
import os
import platform
import statistics
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bench.setup import FIRST_READER_ID, database_server, fresh_database
from bot.holds.policy import HoldPolicy
from bot.services import build_services
from bot.telegram.application import build_application
from bot.telegram.handlers.demand import files
from bot.telegram.hold_messages import TelegramHoldMessages
from bot.telegram.texts import reservations
from tests.chat import ADMIN, message_update
from tests.fake_telegram import FakeBotApi, FakeRequest

TOKEN = "123456789:BENCH-token_0123456789abcdefghij"
WARM_UP_RUNS = 2


async def seed(engine: AsyncEngine, waiting: int, books: int) -> None:
    """books sold-out books; waiting readers, one reservation each, spread Zipf-like (book
    n gets about 1/n of them); as many again in history: told or cancelled over the last
    60 days."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO books (title, author, stock_quantity, title_key, author_key, "
                "search_vector) SELECT 'Book ' || n, 'Author ' || n % 500, 0, "
                "'book ' || n, 'author ' || n % 500, to_tsvector('simple', 'book ' || n) "
                "FROM generate_series(1, CAST(:books AS integer)) AS n"
            ),
            {"books": books},
        )
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, first_name) "
                "SELECT n, n, 'Reader ' || n "
                "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n"
            ),
            {"first": FIRST_READER_ID, "last": FIRST_READER_ID + waiting - 1},
        )
        # Book of rank r gets ~1/r of the readers: floor(books ** random()) is Zipf-like.
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (user_id, book_id, created_at) "
                "SELECT id, greatest(1, least(:books, "
                "floor(power(CAST(:books AS float), random()))))::bigint, "
                "now() - random() * interval '90 days' FROM users"
            ),
            {"books": books},
        )
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (user_id, book_id, status, created_at, notified_at, "
                "cancelled_at) SELECT id, 1 + id % :books, "
                "(CASE WHEN id % 2 = 0 THEN 'notified' ELSE 'cancelled' END)::pre_booking_status, "
                "now() - interval '70 days', "
                "CASE WHEN id % 2 = 0 THEN now() - random() * interval '60 days' END, "
                "CASE WHEN id % 2 = 1 THEN now() - random() * interval '60 days' END "
                "FROM users"
            ),
            {"books": books},
        )
        await connection.execute(text("ANALYZE"))


async def seed_holds(engine: AsyncEngine) -> None:
    """The history as holds leave it: every reservation in it was set aside (notified_at
    and a deadline), then collected, released or expired, or is on hold still (every
    tenth); a stock for the copies on hold."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET notified_at = now() - random() * interval '60 days', "
                "hold_expires_at = now() + interval '1 day', "
                "status = (CASE id % 10 WHEN 1 THEN 'cancelled' WHEN 2 THEN 'expired' "
                "ELSE 'collected' END)::pre_booking_status, "
                "cancelled_at = CASE id % 10 WHEN 1 THEN now() - random() * interval '60 days' "
                "END, expired_at = CASE id % 10 WHEN 2 THEN now() - random() * interval "
                "'60 days' END, collected_at = CASE WHEN id % 10 NOT IN (1, 2) THEN now() - "
                "random() * interval '60 days' END WHERE status <> 'waiting'"
            )
        )
        # A reader never holds a copy of a book they wait for (one live reservation each).
        await connection.execute(
            text(
                "UPDATE pre_bookings AS held SET status = 'on_hold', collected_at = NULL "
                "WHERE held.id % 10 = 0 AND held.status = 'collected' AND NOT EXISTS ("
                "SELECT FROM pre_bookings AS waiting WHERE waiting.status = 'waiting' "
                "AND waiting.user_id = held.user_id AND waiting.book_id = held.book_id)"
            )
        )
        await connection.execute(
            text(
                "UPDATE books SET stock_quantity = held.count FROM (SELECT book_id, count(*) "
                "FROM pre_bookings WHERE status = 'on_hold' GROUP BY book_id) AS held "
                "WHERE held.book_id = books.id"
            )
        )
        await connection.execute(text("ANALYZE"))


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.demand")
    parser.add_argument("--waiting", type=int, default=100_000, help="readers waiting")
    parser.add_argument("--books", type=int, default=2_000, help="sold-out books")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each part")
    parser.add_argument("--holds", action="store_true", help="RESTOCK_POLICY=hold_in_line")
    options = parser.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    with database_server() as server_url:
        async with fresh_database(server_url) as (_, engine):
            await seed(engine, options.waiting, options.books)
            if options.holds:
                await seed_holds(engine)
            services = build_services(
                engine,
                frozenset({ADMIN.id}),
                reservations.back_in_stock,
                HoldPolicy(hold_in_line=options.holds),
                TelegramHoldMessages(),
            )
            api = FakeBotApi()
            application = build_application(
                TOKEN, services, messages_per_second=1000, request=FakeRequest(api)
            )
            query: list[float] = []
            drawing: list[float] = []
            command: list[float] = []
            first_answer: list[float] = []
            async with application:
                for run in range(WARM_UP_RUNS + options.runs):
                    start = time.perf_counter()
                    report = await services.demand.report(ADMIN.id)
                    queried = time.perf_counter()
                    await asyncio.to_thread(files, report)
                    drawn = time.perf_counter()
                    sent = len(api.requests)
                    update = Update.de_json(message_update(run, ADMIN, "/demand"), application.bot)
                    begun = time.monotonic()  # the fake stamps each call on this clock
                    await application.process_update(update)
                    done = time.monotonic()
                    methods = [request.method for request in api.requests[sent:]]
                    assert methods == ["sendMessage", "sendPhoto", "sendDocument"], methods
                    if run >= WARM_UP_RUNS:
                        query.append(queried - start)
                        drawing.append(drawn - queried)
                        command.append(done - begun)
                        first_answer.append(api.requests[sent].at - begun)
            books_in_report = len(report.books)
    print(report_table(options, books_in_report, query, drawing, first_answer, command))


def report_table(
    options: argparse.Namespace,
    books_in_report: int,
    query: list[float],
    drawing: list[float],
    first_answer: list[float],
    command: list[float],
) -> str:
    def cells(values: list[float]) -> str:
        milliseconds = sorted(value * 1000 for value in values)
        return f"{statistics.median(milliseconds):.0f} | {milliseconds[-1]:.0f}"

    return "\n".join(
        [
            f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
            f"{platform.python_version()}. Command: `python -m bench.demand --waiting "
            f"{options.waiting} --books {options.books} --runs {options.runs}"
            f"{' --holds' if options.holds else ''}`. "
            f"{options.waiting:,} readers waiting over {options.books:,} books, as many "
            f"{'held' if options.holds else 'told'} in the last 60 days; the report lists "
            f"{books_in_report:,} "
            f"books. Medians and worst of {options.runs} runs after {WARM_UP_RUNS} untimed, "
            "in milliseconds:",
            "",
            "| part | median | worst |",
            "| --- | --- | --- |",
            f"| the query (`DemandService.report`, one transaction) | {cells(query)} |",
            f"| the chart (PNG) and the CSV | {cells(drawing)} |",
            f"| `/demand`: update in, the report's text sent | {cells(first_answer)} |",
            f"| the whole `/demand`: update in, text, photo and document sent | "
            f"{cells(command)} |",
        ]
    )


if __name__ == "__main__":
    asyncio.run(main())
