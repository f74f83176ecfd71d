"""The restock transaction with readers in three languages: `python3 dev.py bench
languages [--waiting N] [--runs N]`.

The back-in-stock message is rendered once per language and each reader's outbox row
picks theirs with a CASE on users.language. Runs alternate between every reader in the
default language (users.language null, as before readers had one) and readers spread over
English, Russian and Spanish, so drift on a shared machine hits both alike.
"""

import argparse
import statistics
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.restock import ADMIN_ID, _reset
from bench.setup import BOOK_ID, database_server, fresh_database, seed_waiting_readers
from bot.restocks.schemas import Restock
from bot.services import build_services
from bot.telegram.texts import reservations

SPREADS = {
    "one language (users.language null)": "NULL",
    "three languages (en, ru, es in turn)": "(ARRAY['en', 'ru', 'es'])[id % 3 + 1]",
}


async def main(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench languages")
    parser.add_argument("--waiting", type=int, default=100_000, help="readers waiting")
    parser.add_argument("--runs", type=int, default=5, help="runs of each spread")
    options = parser.parse_args(arguments)
    with database_server() as server_url:
        async with fresh_database(server_url) as (_, engine):
            await seed_waiting_readers(engine, options.waiting)
            timings = await time_spreads(engine, options.waiting, options.runs)
    print(f"Restock 0 → 5 with {options.waiting:,} waiting, {options.runs} runs each:")
    for spread, runs in timings.items():
        listed = ", ".join(f"{run:.2f}" for run in runs)
        print(f"| {spread} | **{statistics.median(runs):.2f} s** | {listed} |")


async def time_spreads(engine: AsyncEngine, readers: int, runs: int) -> dict[str, list[float]]:
    services = build_services(engine, frozenset({ADMIN_ID}), reservations.back_in_stock)
    timings: dict[str, list[float]] = {spread: [] for spread in SPREADS}
    for _ in range(runs):
        for spread, language in SPREADS.items():
            async with engine.begin() as connection:
                await connection.execute(text(f"UPDATE users SET language = {language}"))  # noqa: S608
            await _reset(engine)
            started = time.perf_counter()
            restock = await services.restocks.restock(ADMIN_ID, BOOK_ID, 5)
            timings[spread].append(time.perf_counter() - started)
            assert isinstance(restock, Restock)
            assert restock.notified == readers
    return timings
