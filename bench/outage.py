"""Telegram down for minutes in the middle of a broadcast: is anything lost or sent twice,
and how soon does delivery resume once Telegram is back?

`python3 dev.py bench outage [--readers N] [--minutes M]`. The bot runs as its own
process, as deployed, against the fake Bot API over HTTP (30/s, 1/s per chat). Once half
the readers have their message, Telegram goes down: either every call is answered
502 Bad Gateway, or the server is stopped so that every connection is refused. After
the given minutes it comes back on the same port.
"""

import argparse
import asyncio
import math
import os
import platform
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.broadcast import ADMIN_ID, GOOD_NEWS, start
from bench.setup import BOOK_ID, database_server, fresh_database, seed_waiting_readers
from bot.playground.flood_control import FloodLimits
from bot.playground.local_bot_api import SentRequest
from tests.chat import Person
from tests.fake_bot_api_server import FakeBotApiServer
from tests.fake_telegram import FakeBotApi

OUTAGES = ("502", "refused")
# After Telegram is back, the run ends when everyone has the message or nothing has
# arrived for this long.
QUIET_SECONDS = 120.0


@dataclass(frozen=True)
class OutageResult:
    outage: str
    readers: int
    minutes: float
    delivered_once: int
    duplicates: int
    lost: int
    failed_rows: int
    resumed_after_seconds: float  # from Telegram's return to the next message through
    finished_after_seconds: float  # from Telegram's return to the last message


class Telegram:
    """The fake Bot API over HTTP, which can go down and come back on the same port."""

    def __init__(self) -> None:
        self.api = FakeBotApi(limits=FloodLimits(per_second=30, per_chat_per_second=1))
        self.server = FakeBotApiServer(self.api)
        self.server.start()
        self.port = int(self.server.base_url.split(":")[2].split("/")[0])

    def go_down(self, outage: str) -> None:
        if outage == "502":
            self.api.down = "502"
        else:
            self.server.stop()  # nothing listens on the port: connections are refused

    def come_back(self, outage: str) -> None:
        if outage == "502":
            self.api.down = None
        else:
            self.server = FakeBotApiServer(self.api, port=self.port)
            self.server.start()

    def close(self) -> None:
        self.server.stop()


async def run_outage(server_url: str, outage: str, readers: int, minutes: float) -> OutageResult:
    async with fresh_database(server_url) as (url, engine):
        chat_ids = await seed_waiting_readers(engine, readers)
        telegram = Telegram()
        bot = start("outbox", url, telegram.server)
        try:
            await asyncio.to_thread(telegram.server.wait_for_polling)
            telegram.server.send_text(Person(ADMIN_ID, "Staff"), f"/restock {BOOK_ID} 5")
            await asyncio.to_thread(
                telegram.server.wait_for,
                lambda _: len(delivered(telegram.api)) >= readers // 2,
                readers / 30 + 60,
            )
            telegram.go_down(outage)
            print(f"[{outage}] Telegram down after {len(delivered(telegram.api))}", flush=True)
            for minute in range(math.ceil(minutes)):
                await asyncio.sleep(min(60.0, minutes * 60 - minute * 60))
                print(f"[{outage}] {await progress(telegram.api, engine)}", flush=True)
            telegram.come_back(outage)
            recovered = time.monotonic()
            print(f"[{outage}] Telegram back", flush=True)
            await until_done(telegram.api, readers, recovered)
            failed = await failed_rows(engine)
        finally:
            bot.send_signal(signal.SIGINT)
            await asyncio.to_thread(wait_or_kill, bot)
            telegram.close()
    counts = Counter(request.chat_id for request in delivered(telegram.api))
    after = [request.at - recovered for request in delivered(telegram.api)]
    after = [seconds for seconds in after if seconds >= 0]
    return OutageResult(
        outage=outage,
        readers=readers,
        minutes=minutes,
        delivered_once=len([chat for chat in chat_ids if counts[chat] == 1]),
        duplicates=sum(count - 1 for count in counts.values() if count > 1),
        lost=len([chat for chat in chat_ids if counts[chat] == 0]),
        failed_rows=failed,
        resumed_after_seconds=min(after, default=math.inf),
        finished_after_seconds=max(after, default=math.inf),
    )


async def until_done(api: FakeBotApi, readers: int, recovered: float) -> None:
    last_count, last_change = -1, recovered
    while True:
        await asyncio.sleep(0.2)
        count = len(delivered(api))
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        if len({request.chat_id for request in delivered(api)}) >= readers:
            return
        if time.monotonic() - last_change > QUIET_SECONDS:
            return


async def progress(api: FakeBotApi, engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT status::text, count(*) FROM notifications GROUP BY 1 ORDER BY 1")
        )
        statuses = ", ".join(f"{status} {count}" for status, count in rows)
    calls = len(api.requests)
    return f"delivered {len(delivered(api))}; outbox: {statuses}; calls so far {calls}"


async def failed_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM notifications WHERE status = 'failed'")
        )
    return int(count or 0)


def delivered(api: FakeBotApi) -> list[SentRequest]:
    return [
        request
        for request in list(api.requests)
        if request.method == "sendMessage"
        and request.error_code is None
        and GOOD_NEWS in request.text
    ]


def wait_or_kill(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def main(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench outage")
    parser.add_argument("--readers", type=int, default=1000, help="readers in the broadcast")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long Telegram is down")
    parser.add_argument("--outage", choices=OUTAGES, action="append", help="default: both")
    options = parser.parse_args(arguments)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    results = []
    with database_server() as server_url:
        for outage in options.outage or OUTAGES:
            result = await run_outage(server_url, outage, options.readers, options.minutes)
            print(result, flush=True)
            results.append(result)
    print()
    print(report(options, results))


def report(options: argparse.Namespace, results: list[OutageResult]) -> str:
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Command: `python3 dev.py bench outage --readers "
        f"{options.readers} --minutes {options.minutes:g}`.",
        "",
        "| Telegram down | delivered once | sent twice | never messaged | failed rows "
        "| first message after recovery (s) | last message after recovery (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = {"502": "every call 502 Bad Gateway", "refused": "every connection refused"}
    for result in results:
        lines.append(
            f"| {names[result.outage]}, {result.minutes:g} min | {result.delivered_once} "
            f"| {result.duplicates} | {result.lost} | {result.failed_rows} "
            f"| {result.resumed_after_seconds:.1f} | {result.finished_after_seconds:.1f} |"
        )
    return "\n".join(lines)
