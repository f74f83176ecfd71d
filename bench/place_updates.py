"""Place updates after one cancellation: `python3 dev.py bench places [--waiting N]
[--runs N] [--send-seconds S]`.

- --waiting readers wait for one book (a third of them in English, Russian and Spanish),
  each told their place on reserving. The first cancels (ReservationService.cancel,
  which marks the line moved); the line's step "places" is timed until it has queued the
  update of every reader behind: the claim of the book, the places by a window over the
  line, each text rendered in its reader's language, and the upsert into the outbox.
- Then the real bot (the Application, its dispatcher and pacer) sends them for
  --send-seconds to a fake Bot API enforcing Telegram's limits (30 a second in all, one
  a second per chat): the rate they go out at and any 429, as for any broadcast.
"""

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.setup import FIRST_READER_ID, database_server, fresh_database, seed_waiting_readers
from bot.database import create_session_factory
from bot.line.place_updates import PlaceUpdates
from bot.playground.flood_control import FloodLimits
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader
from tests.conftest import bot_application, running
from tests.fake_telegram import FakeBotApi

ADMIN_ID = 1
UPDATE = "📈"


async def seed(engine: AsyncEngine, waiting: int) -> None:
    """The line, each reader in one of the three languages and told their place."""
    await seed_waiting_readers(engine, waiting)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE users SET language = (ARRAY['en', 'ru', 'es'])[1 + id % 3]")
        )
        await connection.execute(text("UPDATE pre_bookings SET place_told = id"))
    await vacuum(engine)


async def vacuum(engine: AsyncEngine) -> None:
    autocommit = await engine.connect()
    try:
        await autocommit.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
    finally:
        await autocommit.close()


async def reset(engine: AsyncEngine) -> None:
    """The first reader back in line, nobody told anything since reserving."""
    async with engine.begin() as connection:
        for statement in (
            "DELETE FROM notifications",
            "UPDATE pre_bookings SET status = 'waiting', cancelled_at = NULL, "
            "place_told = id, place_told_at = NULL",
            "UPDATE books SET line_moved_at = NULL",
        ):
            await connection.execute(text(statement))
    await vacuum(engine)


async def time_queueing(engine: AsyncEngine, waiting: int, runs: int) -> list[float]:
    """Seconds the step took to queue the updates after the first reader cancelled."""
    services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN_ID})))
    step = PlaceUpdates(create_session_factory(engine), TelegramMessages())
    first = Reader(FIRST_READER_ID, FIRST_READER_ID, None, "Reader 0")
    timings = []
    for _ in range(runs):
        await reset(engine)
        await services.reservations.cancel(first, 1)
        started = time.perf_counter()
        report = await step.run()
        timings.append(time.perf_counter() - started)
        assert report.done == waiting - 1, report
    async with engine.connect() as connection:
        languages = await connection.scalar(
            text(
                "SELECT count(DISTINCT left(text, 12)) FROM notifications "
                "WHERE kind = 'place_update' AND next_attempt_at <= now()"
            )
        )
    assert languages == 3, languages
    return timings


async def time_sending(services: Services, seconds: float) -> tuple[int, int, float]:
    """Updates sent by the real bot within seconds, the 429s, and the rate per second."""
    api = FakeBotApi()
    api.limits = FloodLimits(per_second=30, per_chat_per_second=1)
    async with running(bot_application(services, api, messages_per_second=29)):
        await asyncio.sleep(seconds)
    sent = [
        r
        for r in api.requests
        if r.method == "sendMessage" and r.error_code is None and r.text.startswith(UPDATE)
    ]
    too_many = len([r for r in api.requests if r.error_code == 429])
    if len(sent) < 2:
        return len(sent), too_many, 0.0
    rate = (len(sent) - 1) / (sent[-1].at - sent[0].at)
    return len(sent), too_many, rate


async def main(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench places")
    parser.add_argument("--waiting", type=int, default=10_000, help="readers in line")
    parser.add_argument("--runs", type=int, default=5, help="cancellations timed")
    parser.add_argument("--send-seconds", type=float, default=20, help="sending watched")
    options = parser.parse_args(arguments)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    with database_server() as server_url:
        async with fresh_database(server_url) as (_, engine):
            await seed(engine, options.waiting)
            queued = await time_queueing(engine, options.waiting, options.runs)
            services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN_ID})))
            sent, too_many, rate = await time_sending(services, options.send_seconds)
    print(report(options, queued, sent, too_many, rate))


def report(
    options: argparse.Namespace, queued: list[float], sent: int, too_many: int, rate: float
) -> str:
    each = ", ".join(f"{1000 * t:.0f}" for t in queued)
    behind = options.waiting - 1
    total = f"{behind / rate / 60:.1f} min" if rate else "n/a"
    return "\n".join(
        [
            f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end. "
            f"Command: `python3 dev.py bench places --waiting {options.waiting} --runs "
            f"{options.runs} --send-seconds {options.send_seconds:g}`.",
            "",
            "| | median (runs) |",
            "| --- | --- |",
            f"| the step queueing {behind:,} place updates (en, ru, es) after the first of "
            f"{options.waiting:,} cancelled | **{1000 * statistics.median(queued):.0f} ms** "
            f"({each}) |",
            f"| sent by the bot in {options.send_seconds:g} s (30/s in all, 1/s per chat "
            f"enforced) | {sent:,} at **{rate:.1f}/s**, {too_many} responses 429; all "
            f"{behind:,} in about {total} |",
        ]
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
