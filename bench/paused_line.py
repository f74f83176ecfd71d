"""A restock under hold_in_line when half the line is paused (issue 21): `python3 dev.py
bench paused [--reservations N] [--paused N] [--runs N] [--before COMMIT]`.

One book, --reservations readers in its line; --paused of them paused, every other one
from the first (so the first in line is paused, and paused and waiting rows share every
page of the table). A restock 0 → 5 must set the copies aside for the first five who
wait, reading none of the paused: the line's index holds only status 'waiting'.

Three sides, each in its own process on a new database, alternating, five times over:
the code of --before (before the paused status, every reader waiting), this code with
nobody paused, and this code with --paused paused. The first restock in each process is
shown apart: it loads what a bot loads once in its life (babel's locale data, SQLAlchemy's
compiled statements), on both sides alike. Then, for each of this code's sides,
EXPLAIN (ANALYZE, BUFFERS) of the restock's two statements that read the line, in a
transaction rolled back: the line's index gives its entries in order, and only the
waiting ones are in it.
"""

import argparse
import asyncio
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.burst import ROOT, checkout, run_from
from bench.holds import (
    ADMIN_ID,
    COPIES,
    RESTOCK_STATEMENTS,
    hold_services,
    time_round_trips,
)
from bench.setup import BOOK_ID, database_server, fresh_database, seed_waiting_readers
from bot.holds.repository import HOLD_FIRST_IN_LINE
from bot.holds.schemas import LINE_COUNTED_UP_TO, LineRestock
from bot.restocks.repository import LINE_STOCK_CHANGE

# The last commit before migration 0012 (the paused status).
BEFORE_PAUSE = "176d124"
ROUNDS = 5


async def time_paused_line_restocks(
    engine: AsyncEngine, reservations: int, paused: int, runs: int
) -> list[float]:
    """Seconds each 0 → 5 restock took, the holds it made put back in line between runs
    (the paused stay paused)."""
    assert 2 * paused <= reservations, "every other reader at most"
    await seed_waiting_readers(engine, reservations)
    first_waiting = await _pause_every_other(engine, paused)
    services = hold_services(engine)
    timings = []
    for _ in range(runs):
        await _reset_line(engine)
        started = time.perf_counter()
        restock = await services.restocks.restock(ADMIN_ID, BOOK_ID, COPIES)
        timings.append(time.perf_counter() - started)
        assert isinstance(restock, LineRestock)
        assert restock.set_aside == COPIES
        assert restock.waiting_before == min(reservations - paused, LINE_COUNTED_UP_TO)
        assert await _held(engine) == first_waiting, "not the first five who wait"
    return timings


async def explain_line(engine: AsyncEngine) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the restock's statements that read the line: the
    count of the line with the stock's change, then the copies set aside; rolled back."""
    await _reset_line(engine)
    plans = []
    async with engine.connect() as connection, connection.begin() as transaction:
        for statement, parameters in (
            (
                LINE_STOCK_CHANGE,
                {
                    "book_id": BOOK_ID,
                    "old_stock": 0,
                    "quantity": COPIES,
                    "admin": ADMIN_ID,
                    "up_to": LINE_COUNTED_UP_TO + 1,
                },
            ),
            (
                HOLD_FIRST_IN_LINE,
                {"book_ids": [BOOK_ID], "window": timedelta(days=2), "until": None},
            ),
        ):
            explained = text("EXPLAIN (ANALYZE, BUFFERS) " + statement.text)
            rows = await connection.execute(explained, parameters)
            plans.append("\n".join(row[0] for row in rows))
        await transaction.rollback()
    return plans


async def _pause_every_other(engine: AsyncEngine, paused: int) -> list[int]:
    """Pause the 1st, 3rd, 5th… reservation, paused of them; return the first five ids
    left waiting (the readers a restock of five must reach)."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET status = 'paused', paused_at = now() "
                "WHERE id IN (SELECT id FROM pre_bookings ORDER BY id LIMIT :span) "
                "AND (id - (SELECT min(id) FROM pre_bookings)) % 2 = 0"
            ),
            {"span": 2 * paused},
        )
        first = await connection.scalars(
            text("SELECT id FROM pre_bookings WHERE status = 'waiting' ORDER BY id LIMIT :copies"),
            {"copies": COPIES},
        )
        return list(first)


async def _held(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        held = await connection.scalars(
            text("SELECT id FROM pre_bookings WHERE status = 'on_hold' ORDER BY id")
        )
        return list(held)


async def _reset_line(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM notifications"))
        await connection.execute(text("DELETE FROM restocks"))
        await connection.execute(
            text(
                "UPDATE pre_bookings SET status = 'waiting', notified_at = NULL, "
                "hold_expires_at = NULL WHERE status = 'on_hold'"
            )
        )
        await connection.execute(text("UPDATE books SET stock_quantity = 0"))
    autocommit = await engine.connect()
    try:
        await autocommit.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
    finally:
        await autocommit.close()


# Each side in its own process: the --before side imports that commit's bench.holds.
BEFORE_SCRIPT = """import asyncio, json, sys
from bench.setup import fresh_database
from bench.holds import time_line_restocks
async def main():
    server, reservations, paused, runs = sys.argv[1], *map(int, sys.argv[2:])
    async with fresh_database(server) as (_, engine):
        print(json.dumps([await time_line_restocks(engine, reservations, runs), []]))
asyncio.run(main())
"""
AFTER_SCRIPT = """import asyncio, json, sys
from bench.setup import fresh_database
from bench.paused_line import explain_line, time_paused_line_restocks
async def main():
    server, reservations, paused, runs = sys.argv[1], *map(int, sys.argv[2:])
    async with fresh_database(server) as (_, engine):
        timings = await time_paused_line_restocks(engine, reservations, paused, runs)
        print(json.dumps([timings, await explain_line(engine)]))
asyncio.run(main())
"""


@dataclass
class Side:
    """One side's restocks: the first in each process (babel's locale data and
    SQLAlchemy's statements loaded on the way, once in a bot's life) and the others."""

    first: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)


def alternate(
    before: Path | None, server_url: str, options: argparse.Namespace
) -> tuple[dict[str, Side], dict[str, list[str]]]:
    """Each side's restock timings, the sides in turn (their order rotated each round),
    ROUNDS times over; and each after-side's last plans."""
    sides: list[tuple[str, Path, str, int]] = []
    if before is not None:
        sides.append((f"before ({options.before}), all waiting", before, BEFORE_SCRIPT, 0))
    sides.append(("after, none paused", ROOT, AFTER_SCRIPT, 0))
    sides.append((f"after, {options.paused:,} paused", ROOT, AFTER_SCRIPT, options.paused))
    timings = {label: Side() for label, *_ in sides}
    plans: dict[str, list[str]] = {}
    runs = 1 + max(1, -(-options.runs // ROUNDS))
    for round_ in range(ROUNDS):
        turn = round_ % len(sides)
        for label, source, script, paused in sides[turn:] + sides[:turn]:
            counts = (options.reservations, paused, runs)
            measured, explained = run_from(source, script, server_url, *counts)
            timings[label].first.append(measured[0])
            timings[label].warm.extend(measured[1:])
            if explained:
                plans[label] = explained
            print(f"{label}: {[round(1000 * t, 1) for t in measured]} ms", flush=True)
    return timings, plans


async def main(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench paused")
    parser.add_argument("--reservations", type=int, default=100_000, help="readers in line")
    parser.add_argument("--paused", type=int, default=50_000, help="of them paused")
    parser.add_argument("--runs", type=int, default=15, help="warm restocks per side")
    parser.add_argument("--before", default=BEFORE_PAUSE, help="commit to time alongside")
    options = parser.parse_args(arguments)
    with database_server() as server_url:
        async with fresh_database(server_url) as (_, engine):
            floor = await time_round_trips(engine, RESTOCK_STATEMENTS, options.runs)
        if options.before:
            with checkout(options.before) as folder:
                measured = await asyncio.to_thread(alternate, folder, server_url, options)
        else:
            measured = await asyncio.to_thread(alternate, None, server_url, options)
    print(report(options, *measured, floor))


def report(
    options: argparse.Namespace,
    timings: dict[str, Side],
    plans: dict[str, list[str]],
    floor: list[float],
) -> str:
    def milliseconds(values: list[float]) -> str:
        each = ", ".join(f"{1000 * t:.1f}" for t in values)
        return f"**{1000 * statistics.median(values):.1f} ms** ({each})"

    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end. "
        f"Command: `python3 dev.py bench paused --reservations {options.reservations} "
        f"--paused {options.paused} --runs {options.runs} --before {options.before}`.",
        "",
        f"| restock 0 → {COPIES}, {options.reservations:,} reservations of one book | "
        f"median (runs) | first in each of the {ROUNDS} processes |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {label} | {milliseconds(side.warm)} | {milliseconds(side.first)} |"
        for label, side in timings.items()
    ]
    lines.append(
        f"| a transaction of {RESTOCK_STATEMENTS} `SELECT 1` (the restock's round trips) "
        f"| {milliseconds(floor)} | |"
    )
    for label, explained in plans.items():
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS), {label}:"]
        for plan in explained:
            lines += ["", "```", plan, "```"]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    asyncio.run(main(sys.argv[1:]))
