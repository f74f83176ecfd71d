"""Holds under load (RESTOCK_POLICY=hold_in_line): `python3 dev.py bench holds
[--waiting N] [--runs N] [--holds N] [--before COMMIT]`.

- A restock 0 → 5 of a book that --waiting readers wait for: only the first five are
  touched (the line's index), so its time should not grow with the line.
- An expiry sweep of --holds holds falling due at once, each passed on to a reader
  waiting behind it: every expiry and offer queued, timed until none is left.

With --before, both are also timed from that commit's source (`git archive`), the two
sides alternating on the same server, so the machine's load hits both alike.
"""

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.burst import ROOT, checkout, run_from
from bench.setup import BOOK_ID, database_server, fresh_database, seed_waiting_readers
from bot.books.repository import BookRepository
from bot.books.schemas import NewBook
from bot.holds.policy import HoldPolicy
from bot.holds.schemas import LINE_COUNTED_UP_TO, LineRestock
from bot.services import Services, build_services
from bot.telegram.hold_messages import TelegramHoldMessages
from bot.telegram.texts import reservations

ADMIN_ID = 1
COPIES = 5
HOLDS_PER_BOOK = 10
# What a hold_in_line restock sends: lock the book; count its holds and line, set the
# stock and log it (one statement); set copies aside; queue the messages.
RESTOCK_STATEMENTS = 4
POLICY = HoldPolicy(hold_in_line=True, pickup_window=timedelta(days=2))


def hold_services(engine: AsyncEngine) -> Services:
    return build_services(
        engine, frozenset({ADMIN_ID}), reservations.back_in_stock, POLICY, TelegramHoldMessages()
    )


async def time_line_restocks(engine: AsyncEngine, waiting: int, runs: int) -> list[float]:
    """Seconds each 0 → 5 restock took, the line reset between runs."""
    await seed_waiting_readers(engine, waiting)
    services = hold_services(engine)
    timings = []
    for _ in range(runs):
        await _reset_line(engine)
        started = time.perf_counter()
        restock = await services.restocks.restock(ADMIN_ID, BOOK_ID, COPIES)
        timings.append(time.perf_counter() - started)
        assert isinstance(restock, LineRestock)
        assert restock.set_aside == COPIES
        assert restock.waiting_before == min(waiting, LINE_COUNTED_UP_TO)
    return timings


async def time_round_trips(engine: AsyncEngine, statements: int, runs: int) -> list[float]:
    """Seconds a transaction of that many trivial statements takes: the machine's floor
    for a restock's round trips, whatever its SQL."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        async with engine.begin() as connection:
            for _ in range(statements):
                await connection.execute(text("SELECT 1"))
        timings.append(time.perf_counter() - started)
    return timings


async def _reset_line(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM notifications"))
        await connection.execute(text("DELETE FROM restocks"))
        await connection.execute(
            text(
                "UPDATE pre_bookings SET status = 'waiting', notified_at = NULL, "
                "hold_expires_at = NULL WHERE status <> 'waiting'"
            )
        )
        await connection.execute(text("UPDATE books SET stock_quantity = 0"))
    await _vacuum(engine)


async def time_expiry_sweep(engine: AsyncEngine, holds: int) -> float:
    """Seconds until every one of holds due holds is expired and passed on."""
    books = holds // HOLDS_PER_BOOK
    async with AsyncSession(engine) as session, session.begin():
        await BookRepository(session).add_many(
            [NewBook(f"Book {n}", "Someone", HOLDS_PER_BOOK) for n in range(books)]
        )
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, first_name) "
                "SELECT n, n, 'Reader ' || n FROM generate_series(1, :readers) AS n"
            ),
            {"readers": 2 * holds},
        )
        # The first half hold a copy each, past its deadline; the second half wait.
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (user_id, book_id, status, notified_at, "
                "hold_expires_at) SELECT u.id, b.id, "
                "CAST(CASE WHEN u.id <= :holds THEN 'on_hold' ELSE 'waiting' END "
                "AS pre_booking_status), "
                "CASE WHEN u.id <= :holds THEN now() - interval '2 days' END, "
                "CASE WHEN u.id <= :holds THEN now() - interval '1 second' END "
                "FROM users u JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n "
                "FROM books) b ON b.n = (u.id - 1) % :books ORDER BY u.id"
            ),
            {"holds": holds, "books": books},
        )
    await _vacuum(engine)
    sweeper = hold_services(engine).hold_sweeper
    assert sweeper is not None
    started = time.perf_counter()
    expired = offered = 0
    while True:
        report = await sweeper.sweep()
        expired, offered = expired + report.expired, offered + report.offered
        if not report.more and not report.expired:
            break
    seconds = time.perf_counter() - started
    assert (expired, offered) == (holds, holds), (expired, offered)
    async with engine.connect() as connection:
        queued = await connection.scalar(text("SELECT count(*) FROM notifications"))
    assert queued == 2 * holds
    return seconds


async def _vacuum(engine: AsyncEngine) -> None:
    autocommit = await engine.connect()
    try:
        await autocommit.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
    finally:
        await autocommit.close()


async def main(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench holds")
    parser.add_argument("--waiting", type=int, default=100_000, help="readers in line")
    parser.add_argument("--runs", type=int, default=9, help="restocks timed, and sweeps")
    parser.add_argument("--holds", type=int, default=10_000, help="holds due at once")
    parser.add_argument("--before", default=None, help="commit to time alongside")
    options = parser.parse_args(arguments)
    with database_server() as server_url:
        async with fresh_database(server_url) as (_, engine):
            floor = await time_round_trips(engine, RESTOCK_STATEMENTS, options.runs)
        if options.before:
            with checkout(options.before) as folder:
                sides = await asyncio.to_thread(alternate, folder, server_url, options)
        else:
            sides = {"after": await asyncio.to_thread(measure, ROOT, server_url, options)}
    print(report(options, sides, floor))


def alternate(
    before: Path, server_url: str, options: argparse.Namespace
) -> dict[str, tuple[list[float], list[float]]]:
    """Each side's restocks and sweeps, measured in turn, three times over."""
    sides: dict[str, tuple[list[float], list[float]]] = {"before": ([], []), "after": ([], [])}
    for _ in range(3):
        for side, source in (("before", before), ("after", ROOT)):
            restocks, sweeps = measure(source, server_url, options, share=3)
            sides[side][0].extend(restocks)
            sides[side][1].extend(sweeps)
            print(f"{side}: restocks {restocks}, sweeps {sweeps}", flush=True)
    return sides


def measure(
    source: Path, server_url: str, options: argparse.Namespace, share: int = 1
) -> tuple[list[float], list[float]]:
    """Restock and sweep timings, run from a source tree (this one, or an older commit's)."""
    script = (
        "import asyncio, json, sys\n"
        "from bench.setup import fresh_database\n"
        "from bench.holds import time_expiry_sweep, time_line_restocks\n"
        "async def main():\n"
        "    server, waiting, runs, holds, sweeps = sys.argv[1], *map(int, sys.argv[2:])\n"
        "    async with fresh_database(server) as (_, engine):\n"
        "        restocks = await time_line_restocks(engine, waiting, runs)\n"
        "    swept = []\n"
        "    for _ in range(sweeps):\n"
        "        async with fresh_database(server) as (_, engine):\n"
        "            swept.append(await time_expiry_sweep(engine, holds))\n"
        "    print(json.dumps([restocks, swept]))\n"
        "asyncio.run(main())\n"
    )
    runs = max(1, options.runs // share)
    counts = [options.waiting, runs, options.holds, max(1, runs // 3)]
    restocks, sweeps = run_from(source, script, server_url, *counts)
    return restocks, sweeps


def report(
    options: argparse.Namespace,
    sides: dict[str, tuple[list[float], list[float]]],
    floor: list[float],
) -> str:
    def milliseconds(values: list[float]) -> str:
        each = ", ".join(f"{1000 * t:.1f}" for t in values)
        return f"**{1000 * statistics.median(values):.1f} ms** ({each})"

    def seconds(values: list[float]) -> str:
        each = ", ".join(f"{t:.2f}" for t in values)
        return f"**{statistics.median(values):.2f} s** ({each})"

    before = f" --before {options.before}" if options.before else ""
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end. "
        f"Command: `python3 dev.py bench holds --waiting {options.waiting} --runs "
        f"{options.runs} --holds {options.holds}{before}`.",
        "",
        "| | median (runs) |",
        "| --- | --- |",
    ]
    for side, (restocks, sweeps) in sides.items():
        label = f"{side} ({options.before})" if side == "before" else side
        lines.append(
            f"| restock 0 → {COPIES} with {options.waiting:,} waiting, {label} "
            f"| {milliseconds(restocks)} |"
        )
        lines.append(
            f"| expiry sweep of {options.holds:,} due holds ({2 * options.holds:,} messages), "
            f"{label} | {seconds(sweeps)} |"
        )
    lines.append(
        f"| a transaction of {RESTOCK_STATEMENTS} `SELECT 1` (the restock's round trips) "
        f"| {milliseconds(floor)} |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    asyncio.run(main(sys.argv[1:]))
