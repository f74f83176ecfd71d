"""/demand on a busy shop: 100,000 readers waiting (and the last months' history), the
report as staff get it: the query, the chart and CSV, and the whole command through the
real Application on the fake Bot API (text, photo and document sent).

Alone: `python -m bench.demand [--waiting N] [--history N] [--books N] [--runs N]
[--requests N] [--holds] [--before COMMIT]`; with --holds the shop runs
RESTOCK_POLICY=hold_in_line and the history is of holds (set aside, collected, released,
expired, cancelled) with a copy on hold for every tenth reader. --history is how many past
reservations (as many as readers waiting unless given; the speed goal is 10,000 past
holds); --requests how many readers' special orders are open (issue 22).

Each side runs in its own process from its source tree: this checkout, and with --before
also that commit's (`git archive`), alternating on the same seeded database, so the
machine's load hits both alike.
"""

import argparse
import asyncio
import os
import platform
import statistics
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.burst import ROOT, checkout, run_from
from bench.setup import FIRST_READER_ID, database_server, fresh_database

WARM_UP_RUNS = 2
ROUNDS = 3
PARTS = ("query", "drawing", "first_answer", "command")

# The timed runs, as a script each side runs with its own code: only what every commit
# since /demand has (the services, the handler's files(), the Application on the fake
# Bot API). Prints the books in the report and each part's seconds, as JSON.
TIMING_SCRIPT = """
import asyncio, json, os, sys, time
from telegram import Update
from bot.database import create_engine
from bot.holds.policy import HoldPolicy
from bot.services import Shop, build_services
from bot.telegram.application import build_application
from bot.telegram.handlers.demand import files
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, message_update
from tests.fake_telegram import FakeBotApi, FakeRequest

TOKEN = "123456789:BENCH-token_0123456789abcdefghij"

async def main():
    url, holds, runs, warm_up = sys.argv[1], sys.argv[2] == "1", *map(int, sys.argv[3:])
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    engine = create_engine(url)
    services = build_services(
        engine,
        TelegramMessages(),
        Shop(frozenset({ADMIN.id}), HoldPolicy(hold_in_line=holds)),
    )
    api = FakeBotApi()
    application = build_application(
        TOKEN, services, messages_per_second=1000, request=FakeRequest(api)
    )
    parts = {"query": [], "drawing": [], "first_answer": [], "command": []}
    async with application:
        for run in range(warm_up + runs):
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
            if run >= warm_up:
                parts["query"].append(queried - start)
                parts["drawing"].append(drawn - queried)
                parts["command"].append(done - begun)
                parts["first_answer"].append(api.requests[sent].at - begun)
    await engine.dispose()
    print(json.dumps([len(report.books), parts]))

asyncio.run(main())
"""


async def seed(engine: AsyncEngine, waiting: int, books: int, history: int | None = None) -> None:
    """books sold-out books; waiting readers, one reservation each, spread Zipf-like (book
    n gets about 1/n of them); history more (as many as waiting unless given), one for
    each of the first readers: told or cancelled over the last 60 days."""
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
                "FROM users ORDER BY id LIMIT :history"
            ),
            {"books": books, "history": waiting if history is None else history},
        )
        await connection.execute(text("ANALYZE"))


async def seed_requests(engine: AsyncEngine, requests: int) -> None:
    """Readers' open special orders (issue 22): request n asked for by the first
    5 * requests / n readers, at least one, a tenth of them withdrawn; and as many
    requests ordered or declined (not in the report)."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO book_requests (title, author, match_key, status) "
                "SELECT 'Request ' || n, 'Author ' || n % 500, 'words:request ' || n, "
                "CASE WHEN n <= :requests THEN 'open' WHEN n % 2 = 0 THEN 'ordered' "
                "ELSE 'declined' END FROM generate_series(1, 2 * CAST(:requests AS integer)) AS n"
            ),
            {"requests": requests},
        )
        await connection.execute(
            text(
                "INSERT INTO book_request_readers (request_id, user_id, withdrawn_at) "
                "SELECT r.id, u.id, CASE WHEN u.id % 10 = 0 THEN now() END "
                "FROM book_requests AS r JOIN LATERAL (SELECT id FROM users ORDER BY id "
                "LIMIT greatest(1, 5 * :requests / r.id)) AS u ON true"
            ),
            {"requests": requests},
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
    parser.add_argument("--history", type=int, default=None, help="past reservations")
    parser.add_argument("--books", type=int, default=2_000, help="sold-out books")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each part")
    parser.add_argument("--requests", type=int, default=1_000, help="open special orders")
    parser.add_argument("--holds", action="store_true", help="RESTOCK_POLICY=hold_in_line")
    parser.add_argument("--before", default=None, help="commit to time alongside")
    options = parser.parse_args(argv)
    sides: dict[str, dict[str, list[float]]] = {}
    with database_server() as server_url, ExitStack() as stack:
        sources = {"after": ROOT}
        if options.before:
            sources = {"before": stack.enter_context(checkout(options.before)), **sources}
        async with fresh_database(server_url) as (url, engine):
            await seed(engine, options.waiting, options.books, options.history)
            await seed_requests(engine, options.requests)
            if options.holds:
                await seed_holds(engine)
            await engine.dispose()
            books_in_report = 0
            for _ in range(ROUNDS):
                for side, source in sources.items():
                    books_in_report, parts = await asyncio.to_thread(
                        time_side, source, url, options
                    )
                    for part, values in parts.items():
                        sides.setdefault(side, {}).setdefault(part, []).extend(values)
    print(report_table(options, books_in_report, sides))


def time_side(
    source: Path, url: str, options: argparse.Namespace
) -> tuple[int, dict[str, list[float]]]:
    """One round of one side: its own process, its code, the shared database."""
    runs = max(1, options.runs // ROUNDS)
    books, parts = run_from(source, TIMING_SCRIPT, url, int(options.holds), runs, WARM_UP_RUNS)
    return int(books), {part: [float(value) for value in parts[part]] for part in PARTS}


def report_table(
    options: argparse.Namespace,
    books_in_report: int,
    sides: dict[str, dict[str, list[float]]],
) -> str:
    def cells(values: list[float]) -> str:
        milliseconds = sorted(value * 1000 for value in values)
        return f"{statistics.median(milliseconds):.0f} / {milliseconds[-1]:.0f}"

    history = options.waiting if options.history is None else options.history
    names = {
        "query": "the query (`DemandService.report`, one transaction)",
        "drawing": "the chart (PNG) and the CSV",
        "first_answer": "`/demand`: update in, the report's text sent",
        "command": "the whole `/demand`: update in, text, photo and document sent",
    }
    labels = [f"{side} ({options.before})" if side == "before" else side for side in sides]
    runs = len(next(iter(sides.values()))["command"])
    return "\n".join(
        [
            f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end. "
            f"Command: `python -m bench.demand --waiting {options.waiting} --history "
            f"{history} --books {options.books} --requests {options.requests} "
            f"--runs {options.runs}"
            f"{' --holds' if options.holds else ''}"
            f"{f' --before {options.before}' if options.before else ''}`. "
            f"{options.waiting:,} readers waiting over {options.books:,} books, "
            f"{history:,} {'held' if options.holds else 'told or cancelled'} in the last 60 "
            f"days; {options.requests:,} open special orders; the report lists "
            f"{books_in_report:,} books. Median and worst of {runs} "
            f"runs a side ({ROUNDS} rounds alternating, {WARM_UP_RUNS} untimed in each), "
            "in milliseconds:",
            "",
            "| part | " + " | ".join(f"{label}: median / worst" for label in labels) + " |",
            "| --- |" + " --- |" * len(labels),
            *(
                f"| {names[part]} | "
                + " | ".join(cells(sides[side][part]) for side in sides)
                + " |"
                for part in PARTS
            ),
        ]
    )


if __name__ == "__main__":
    asyncio.run(main())
