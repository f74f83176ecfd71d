"""Readers who blocked the bot, at 100,000 users: the lookups by chat, with and without
users.chat_id's index. Run: `.venv/bin/python -m bench.unreachable [--users N]`.

Marking a reader unreachable (after a 403) and a claim's check for unreachable readers
both find users by chat id; without the index each is a sequential scan of users.
"""

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from datetime import timedelta

from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.setup import FIRST_READER_ID, database_server, fresh_database, seed_waiting_readers
from bot.database import create_session_factory
from bot.notifications.reachability import skip_unreachable, unreachable_chats
from bot.notifications.schemas import Delivery
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.models import User

ADMIN_ID = 1
BATCH = 60  # a dispatcher's claim at 30 messages/s
RUNS = 50
STEPS = {
    "mark": "mark a reader unreachable after a 403 (by chat id)",
    "check": f"a claim's check of {BATCH} chats for unreachable readers",
    "claim": f"the whole claim of {BATCH} rows (100,000 queued), check included",
}


async def time_lookups(engine: AsyncEngine, users: int) -> dict[str, list[float]]:
    """Milliseconds per step, RUNS of each, every 10th reader unreachable."""
    services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN_ID})))
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE users SET unreachable_at = now() WHERE telegram_id % 10 = 0")
        )
        await connection.execute(text("ANALYZE users"))
    await services.restocks.restock(ADMIN_ID, 1, 5)
    sessions = create_session_factory(engine)
    timings: dict[str, list[float]] = {step: [] for step in STEPS}
    for run in range(RUNS):
        chat = FIRST_READER_ID + run * 997 % users
        started = time.perf_counter()
        async with sessions.begin() as session:
            # What Outbox.mark_failed does after a 403.
            await session.execute(
                update(User).where(User.chat_id == chat).values(unreachable_at=func.now())
            )
        timings["mark"].append(time.perf_counter() - started)

        batch = [
            Delivery(run * BATCH + n, chat + n, "", 1, uuid.uuid4()) for n in range(1, BATCH + 1)
        ]
        started = time.perf_counter()
        async with sessions.begin() as session:
            await skip_unreachable(session, batch, await unreachable_chats(session, batch))
        timings["check"].append(time.perf_counter() - started)

        started = time.perf_counter()
        await services.outbox.claim_due(BATCH, timedelta(minutes=10))
        timings["claim"].append(time.perf_counter() - started)
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.unreachable")
    parser.add_argument("--users", type=int, default=100_000, help="readers, all waiting")
    options = parser.parse_args()
    results = {}
    with database_server() as server_url:
        for variant in ("with ix_users_chat_id", "without (before)"):
            async with fresh_database(server_url) as (_, engine):
                await seed_waiting_readers(engine, options.users)
                if variant.startswith("without"):
                    async with engine.begin() as connection:
                        await connection.execute(text("DROP INDEX ix_users_chat_id"))
                results[variant] = await time_lookups(engine, options.users)
    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Command: `.venv/bin/python -m bench.unreachable "
        f"--users {options.users}`. {options.users:,} users, every 10th unreachable; "
        f"medians of {RUNS} (p90 in brackets), milliseconds:\n"
    )
    print("| | with ix_users_chat_id | without (before) |")
    print("| --- | --- | --- |")
    for step, label in STEPS.items():
        cells = []
        for variant in results:
            values = sorted(1000 * value for value in results[variant][step])
            p90 = values[int(len(values) * 0.9) - 1]
            cells.append(f"**{statistics.median(values):.2f}** ({p90:.2f})")
        print(f"| {label} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    asyncio.run(main())
