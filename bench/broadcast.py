"""One restock of a book that many readers wait for, against a fake Bot API that
enforces Telegram's flood limits; the bot runs as its own process, as deployed."""

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.setup import BOOK_ID, fresh_database, seed_waiting_readers
from bot.playground.flood_control import FloodLimits
from bot.playground.local_bot_api import SentRequest
from tests.chat import Person
from tests.fake_bot_api_server import FakeBotApiServer, running_fake_bot_api

TOKEN = "123456789:BENCH-token_0123456789abcdefghij"
ADMIN_ID = 1
GOOD_NEWS = "Good news"
VARIANTS = {
    "outbox": [str(Path(sys.executable).parent / "bookstore-bot"), "run"],
    "naive": [sys.executable, "-m", "bench.naive_bot"],
}


@dataclass(frozen=True)
class BroadcastResult:
    variant: str
    readers: int
    last_message_seconds: float
    admin_reply_seconds: float
    responses_429: int
    lost: int
    duplicated: int
    peak_rss_mib: float


async def run_broadcast(server_url: str, variant: str, readers: int) -> BroadcastResult:
    async with fresh_database(server_url) as (url, engine):
        chat_ids = await seed_waiting_readers(engine, readers)
        with running_fake_bot_api() as telegram:
            telegram.api.limits = FloodLimits(per_second=30, per_chat_per_second=1)
            bot = start(variant, url, telegram)
            try:
                result = await asyncio.to_thread(measure, variant, telegram, chat_ids)
            finally:
                bot.send_signal(signal.SIGINT)
                peak = await asyncio.to_thread(peak_rss_mib, bot)
    return replace(result, peak_rss_mib=peak)


def start(variant: str, url: str, telegram: FakeBotApiServer) -> subprocess.Popen[bytes]:
    environment = dict(os.environ)
    environment.update(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=make_url(url).set(drivername="postgresql").render_as_string(False),
        ADMIN_IDS=str(ADMIN_ID),
        TELEGRAM_BASE_URL=telegram.base_url,
        LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(
        VARIANTS[variant],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(variant: str, telegram: FakeBotApiServer, chat_ids: list[int]) -> BroadcastResult:
    telegram.wait_for_polling()
    started = time.monotonic()
    telegram.send_text(Person(ADMIN_ID, "Staff"), f"/restock {BOOK_ID} 5")
    # Done when every reader has the message, or when nothing has been sent for a while.
    deadline = started + len(chat_ids) / 30 * 3 + 30
    while time.monotonic() < deadline:
        time.sleep(0.2)
        requests = list(telegram.api.requests)
        delivered = {r.chat_id for r in requests if _is_good_news(r)}
        sends = [r.at for r in requests if r.method == "sendMessage"]
        if len(delivered) == len(chat_ids) and any(_is_admin_reply(r) for r in requests):
            break
        if sends and time.monotonic() - max(sends) > 5:
            break
    requests = list(telegram.api.requests)
    arrivals = [r for r in requests if _is_good_news(r)]
    replies = [r.at - started for r in requests if _is_admin_reply(r)]
    counts = dict.fromkeys(chat_ids, 0)
    for request in arrivals:
        counts[int(request.chat_id or 0)] += 1
    return BroadcastResult(
        variant=variant,
        readers=len(chat_ids),
        last_message_seconds=max((r.at for r in arrivals), default=started) - started,
        admin_reply_seconds=replies[0] if replies else math.inf,
        responses_429=len([r for r in requests if r.error_code == 429]),
        lost=len([count for count in counts.values() if count == 0]),
        duplicated=sum(count - 1 for count in counts.values() if count > 1),
        peak_rss_mib=0.0,
    )


def peak_rss_mib(process: subprocess.Popen[bytes]) -> float:
    """The process's peak resident memory, from the kernel's account when it exits."""
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return usage.ru_maxrss / 1024  # KiB on Linux


def _is_good_news(request: SentRequest) -> bool:
    return (
        request.method == "sendMessage"
        and request.error_code is None
        and GOOD_NEWS in request.text
    )


def _is_admin_reply(request: SentRequest) -> bool:
    return (
        request.method == "sendMessage"
        and request.chat_id == ADMIN_ID
        and request.error_code is None
        and "Stock of" in request.text
    )
