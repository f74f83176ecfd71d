"""The restock transaction alone: 0 → 5 for a book that many readers wait for
(RESTOCK_POLICY=notify_all). `python3 dev.py bench restock [--waiting N] [--runs N]
[--rounds N] [--before COMMIT]`.

Each side (this code, and --before's) restocks in its own process on a new database
with --waiting readers in line, --runs restocks a process, the sides alternating
--rounds times; the first restock of each process is kept apart (it loads what a bot
loads once in its life). Then, for this code, where the time goes: each statement's
time, the commit's, the server process's CPU, and EXPLAIN (ANALYZE, BUFFERS, WAL) of the
statement that marks the line notified and queues its messages, beside its two parts
written alone: the marks (what any design that marks every reader in the transaction
pays) and the messages.
"""

import argparse
import asyncio
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.burst import ROOT, checkout, run_from
from bench.setup import BOOK_ID, database_server, seed_waiting_readers
from bot.restocks.schemas import Restock
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages

ADMIN_ID = 1
# The code before migration 0009 (a count instead of rows, the index on book_id gone).
BEFORE = "9834001"


async def time_restocks(engine: AsyncEngine, readers: int, runs: int) -> list[float]:
    """Seconds each restock took, the waiting reset between runs."""
    await seed_waiting_readers(engine, readers)
    services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN_ID})))
    timings = []
    for _ in range(runs):
        await _reset(engine)
        started = time.perf_counter()
        restock = await services.restocks.restock(ADMIN_ID, BOOK_ID, 5)
        timings.append(time.perf_counter() - started)
        assert isinstance(restock, Restock)
        assert restock.notified == readers
    return timings


@dataclass
class Breakdown:
    """Where one restock's time went, in milliseconds; and the plans, as EXPLAIN prints."""

    total: float = 0.0
    statements: list[tuple[str, float]] = field(default_factory=list)
    commit: float = 0.0  # from COMMIT sent to the restock returned
    server_cpu: float | None = None  # the server process's CPU time (a local server)
    plans: dict[str, str] = field(default_factory=dict)
    parts: list["Part"] = field(default_factory=list)


@dataclass
class Part:
    """One statement explained: its execution time and the server's CPU meanwhile (ms),
    and the WAL it wrote."""

    label: str
    milliseconds: float
    server_cpu: float | None
    wal_records: int
    wal_bytes: int


# The restock's statement in its parts. The marks alone, as the restock writes them (its
# join to users fetches each reader's chat and language for the messages), and without
# the join: the floor of any design that marks every waiting reader in the restock's
# transaction. The messages alone: a row a reader in the outbox, nothing marked.
PARTS = {
    "the marks alone, joined to users": (
        "UPDATE pre_bookings SET status = 'notified', notified_at = now() FROM users "
        "WHERE pre_bookings.book_id = $1 AND pre_bookings.status = 'waiting' "
        "AND pre_bookings.user_id = users.id"
    ),
    "the marks alone, no join": (
        "UPDATE pre_bookings SET status = 'notified', notified_at = now() "
        "WHERE book_id = $1 AND status = 'waiting'"
    ),
    "the messages alone": (
        "INSERT INTO notifications (restock_id, pre_booking_id, chat_id, text) "
        "SELECT NULL, pre_bookings.id, users.chat_id, NULL FROM pre_bookings "
        "JOIN users ON users.id = pre_bookings.user_id "
        "WHERE pre_bookings.book_id = $1 AND pre_bookings.status = 'waiting'"
    ),
}


async def break_down(engine: AsyncEngine, readers: int) -> Breakdown:
    """One restock, timed statement by statement (the readers already seeded), then the
    plans of its statement that writes per reader and of its parts alone, each in a
    transaction rolled back."""
    services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN_ID})))
    breakdown = Breakdown()
    seen: list[tuple[str, Any]] = []
    marks: dict[str, float] = {}
    server: list[int] = []

    def before(connection: Connection, _: Any, statement: str, parameters: Any, *__: Any) -> None:
        if not server:
            server.append(connection.connection.driver_connection.get_server_pid())  # type: ignore[union-attr]
            marks["cpu"] = _cpu_seconds(server[0]) or 0.0
        marks["started"] = time.perf_counter()
        seen.append((statement, parameters))

    def after(_: Connection, __: Any, statement: str, *___: Any) -> None:
        label = " ".join(statement.split())[:60]
        breakdown.statements.append((label, 1000 * (time.perf_counter() - marks["started"])))

    def committing(_: Connection) -> None:
        marks["commit"] = time.perf_counter()

    await _reset(engine)
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
        ("commit", committing),
    ]
    for name, listener in listeners:
        event.listen(engine.sync_engine, name, listener)
    try:
        started = time.perf_counter()
        restock = await services.restocks.restock(ADMIN_ID, BOOK_ID, 5)
        ended = time.perf_counter()
    finally:
        for name, listener in listeners:
            event.remove(engine.sync_engine, name, listener)
    assert isinstance(restock, Restock)
    assert restock.notified == readers
    breakdown.total = 1000 * (ended - started)
    breakdown.commit = 1000 * (ended - marks["commit"])
    cpu = _cpu_seconds(server[0])
    if cpu is not None:
        breakdown.server_cpu = 1000 * (cpu - marks["cpu"])
    statement, parameters = next((s, p) for s, p in seen if "INSERT INTO notifications" in s)
    statements = {"the marks and the messages (the restock's statement)": (statement, parameters)}
    statements.update((label, (alone, (BOOK_ID,))) for label, alone in PARTS.items())
    for label, (sql, arguments) in statements.items():
        await _reset(engine)
        plan, cpu = await _explain(engine, sql, arguments)
        breakdown.plans[label] = plan
        breakdown.parts.append(Part(label, _milliseconds(plan), cpu, *_wal(plan)))
    return breakdown


async def _explain(
    engine: AsyncEngine, statement: str, parameters: Any
) -> tuple[str, float | None]:
    """EXPLAIN (ANALYZE, BUFFERS, WAL) of a statement as the driver sends it, rolled back;
    and the server process's CPU milliseconds meanwhile, if it shows."""
    async with engine.connect() as connection, connection.begin() as transaction:
        await connection.execute(text("SELECT 1"))  # the driver's transaction begins
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        pid = driver.get_server_pid()
        before = _cpu_seconds(pid)
        rows = await driver.fetch("EXPLAIN (ANALYZE, BUFFERS, WAL) " + statement, *parameters)
        after = _cpu_seconds(pid)
        await transaction.rollback()
    cpu = None if before is None or after is None else 1000 * (after - before)
    return "\n".join(row[0] for row in rows), cpu


def _milliseconds(plan: str) -> float:
    """The plan's execution time."""
    found = re.search(r"Execution Time: ([0-9.]+) ms", plan)
    return float(found.group(1)) if found else 0.0


def _wal(plan: str) -> tuple[int, int]:
    """The WAL records and bytes of the plan's top node: the whole statement's."""
    found = re.search(r"WAL: records=(\d+)(?: fpi=\d+)? bytes=(\d+)", plan)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _cpu_seconds(pid: int) -> float | None:
    """A local process's CPU time (user and system), if this machine shows it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


# Each side in its own process, on its own new database: the --before side imports that
# commit's bench.restock (time_restocks has kept its signature).
BEFORE_SCRIPT = """import asyncio, json, sys
from bench.setup import fresh_database
from bench.restock import time_restocks
async def main():
    async with fresh_database(sys.argv[1]) as (_, engine):
        timings = await time_restocks(engine, int(sys.argv[2]), int(sys.argv[3]))
        print(json.dumps([timings, None]))
asyncio.run(main())
"""
AFTER_SCRIPT = """import asyncio, json, sys
from dataclasses import asdict
from bench.setup import fresh_database
from bench.restock import break_down, time_restocks
async def main():
    explain = sys.argv[4] == "1"
    async with fresh_database(sys.argv[1]) as (_, engine):
        timings = await time_restocks(engine, int(sys.argv[2]), int(sys.argv[3]))
        breakdown = await break_down(engine, int(sys.argv[2])) if explain else None
        print(json.dumps([timings, asdict(breakdown) if breakdown else None]))
asyncio.run(main())
"""


@dataclass
class Side:
    first: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)


def alternate(
    before: Path | None, server_url: str, options: argparse.Namespace
) -> tuple[dict[str, Side], list[dict[str, Any]], list[str]]:
    """Each side's timings, the sides' order swapped each round; this code's breakdowns
    (one a round); the load average before each process."""
    sides: list[tuple[str, Path, str]] = []
    if before is not None:
        sides.append((f"before ({options.before})", before, BEFORE_SCRIPT))
    sides.append(("after", ROOT, AFTER_SCRIPT))
    timings = {label: Side() for label, *_ in sides}
    breakdowns: list[dict[str, Any]] = []
    loads: list[str] = []
    for round_ in range(options.rounds):
        turn = round_ % len(sides)
        for label, source, script in sides[turn:] + sides[:turn]:
            loads.append(load_average())
            runs = options.runs + 1
            measured, breakdown = run_from(
                source, script, server_url, options.waiting, runs, int(source == ROOT)
            )
            timings[label].first.append(measured[0])
            timings[label].warm.extend(measured[1:])
            if breakdown:
                breakdowns.append(breakdown)
            print(f"{label} (load {loads[-1]}): {[round(t, 2) for t in measured]} s", flush=True)
    return timings, breakdowns, loads


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


async def main(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench restock")
    parser.add_argument("--waiting", type=int, default=100_000, help="readers in line")
    parser.add_argument("--runs", type=int, default=3, help="warm restocks per process")
    parser.add_argument("--rounds", type=int, default=3, help="processes per side")
    parser.add_argument("--before", default=BEFORE, help="commit to time alongside ('' none)")
    options = parser.parse_args(arguments)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    with database_server() as server_url:
        if options.before:
            with checkout(options.before) as folder:
                measured = await asyncio.to_thread(alternate, folder, server_url, options)
        else:
            measured = await asyncio.to_thread(alternate, None, server_url, options)
    print()
    print(report(options, *measured))


def report(
    options: argparse.Namespace,
    timings: dict[str, Side],
    breakdowns: list[dict[str, Any]],
    loads: list[str],
) -> str:
    before = options.before or "''"

    def seconds(values: list[float]) -> str:
        return f"**{statistics.median(values):.2f} s** ({', '.join(f'{t:.2f}' for t in values)})"

    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}; load average before each process: "
        f"{'; '.join(loads)}; at the end: {load_average()}. Command: `python3 dev.py bench "
        f"restock --waiting {options.waiting} --runs {options.runs} --rounds "
        f"{options.rounds} --before {before}`.",
        "",
        f"| restock 0 → 5, {options.waiting:,} waiting | median (runs) | first in each "
        f"of the {options.rounds} processes |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {label} | {seconds(side.warm)} | {seconds(side.first)} |"
        for label, side in timings.items()
    ]
    if not breakdowns:
        return "\n".join(lines)
    lines += ["", "This code's restock, statement by statement (ms; one restock a round):", ""]
    lines += ["| | " + " | ".join(f"round {n + 1}" for n in range(len(breakdowns))) + " |"]
    lines += ["| --- |" + " --- |" * len(breakdowns)]
    for index, (label, _) in enumerate(breakdowns[0]["statements"]):
        cells = [f"{b['statements'][index][1]:.1f}" for b in breakdowns]
        lines.append(f"| `{label}…` | " + " | ".join(cells) + " |")
    for key, label in (("commit", "commit"), ("total", "the whole restock")):
        lines.append(f"| {label} | " + " | ".join(f"{b[key]:.1f}" for b in breakdowns) + " |")
    if all(b["server_cpu"] is not None for b in breakdowns):
        cells = [f"{b['server_cpu']:.0f}" for b in breakdowns]
        lines.append("| the server process's CPU | " + " | ".join(cells) + " |")
    lines += ["", "EXPLAIN (ANALYZE, BUFFERS, WAL) of the statement that writes per reader and of"]
    lines += [
        "its parts alone, each in a transaction rolled back (ms; CPU: the server process's):"
    ]
    lines += ["", "| statement | time, each round | CPU, each round | WAL records | WAL bytes |"]
    lines += ["| --- | --- | --- | --- | --- |"]
    for index, part in enumerate(breakdowns[0]["parts"]):
        runs = [b["parts"][index] for b in breakdowns]
        times = ", ".join(f"{run['milliseconds']:.0f}" for run in runs)
        cpu = ", ".join(
            "?" if run["server_cpu"] is None else f"{run['server_cpu']:.0f}" for run in runs
        )
        lines.append(
            f"| {part['label']} | {times} | {cpu} | {part['wal_records']:,} | "
            f"{part['wal_bytes'] / 1e6:.1f} MB |"
        )
    for label, plan in breakdowns[-1]["plans"].items():
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS, WAL), {label}, rolled back:", "", "```"]
        lines += [plan, "```"]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    asyncio.run(main(sys.argv[1:]))
