"""Several bot processes under one flood budget, paid broadcasts, and the restock's cost:
`python3 dev.py bench scale [--readers N] [--paid-readers N] [--runs N] [--waiting N]
[--before COMMIT] [--paid-before COMMIT] [--budget-before COMMIT]
[--only processes|webhook|paid|restock]`.

Broadcasts run the bot as deployed (`bookstore-bot run`), against the fake Bot API over
HTTP enforcing 30 messages/s overall and 1/s per chat per token (1000/s for paid ones).
"""

import argparse
import asyncio
import os
import platform
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.broadcast import ADMIN_ID, TOKEN, VARIANTS, _is_good_news
from bench.burst import ROOT, checkout, run_from
from bench.scale_figures import BotProcesses, ScaleResult, chat_times, chatters, figures
from bench.scale_webhook import run_webhook_scale
from bench.setup import database_server, fresh_database, seed_waiting_readers
from bot.database_url import parse_database_url
from bot.delivery.flood_budget.ledger import SharedFloodBudget
from bot.playground.flood_control import FloodLimits
from tests.chat import Person
from tests.fake_bot_api_server import FakeBotApiServer, running_fake_bot_api


async def run_scale(
    server_url: str, processes: int, readers: int, paid: bool, source: Path | None = None
) -> ScaleResult:
    """source: another checkout's bot (an older commit's), run from its folder."""
    async with fresh_database(server_url) as (url, engine):
        chat_ids = await seed_waiting_readers(engine, readers)
        with running_fake_bot_api() as telegram:
            telegram.api.limits = FloodLimits(per_second=30, per_chat_per_second=1)
            bots = [
                start(url, telegram, polling=n == 0, paid=paid, source=source)
                for n in range(processes)
            ]
            try:
                return await asyncio.to_thread(measure, telegram, chat_ids, bots, paid)
            finally:
                for bot in bots:
                    bot.send_signal(signal.SIGINT)
                for bot in bots:
                    await asyncio.to_thread(bot.wait, 30)


def start(
    url: str, telegram: FakeBotApiServer, polling: bool, paid: bool, source: Path | None = None
) -> subprocess.Popen[bytes]:
    environment = dict(os.environ)
    # This tree's bot unless another is asked for, whichever checkout the editable
    # install maps `bot` to.
    environment.update(PYTHONPATH=str(source or ROOT))
    environment.update(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=make_url(url).set(drivername="postgresql").render_as_string(False),
        ADMIN_IDS=str(ADMIN_ID),
        TELEGRAM_BASE_URL=telegram.base_url,
        LOG_LEVEL="WARNING",
        POLL_UPDATES=str(polling).lower(),
        PAID_BROADCAST=str(paid).lower(),
    )
    return subprocess.Popen(
        VARIANTS["outbox"],
        env=environment,
        cwd=source,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(
    telegram: FakeBotApiServer,
    chat_ids: list[int],
    bots: list[subprocess.Popen[bytes]],
    paid: bool,
) -> ScaleResult:
    processes = len(bots)
    telegram.wait_for(lambda _: len(telegram.api.sent("getMe")) >= processes, 60)
    telegram.wait_for_polling()
    time.sleep(1)  # the delivering processes' dispatchers start after their getMe
    asked: dict[int, list[float]] = {}
    done = threading.Event()

    def chat_along() -> None:
        for at, person in chat_times(chatters()):
            if done.wait(max(0.0, started + at - time.monotonic())):
                return
            asked.setdefault(person.id, []).append(time.monotonic())
            telegram.send_text(person, "/help")

    with BotProcesses([bot.pid for bot in bots]) as sampled:
        started = time.monotonic()
        telegram.send_text(Person(ADMIN_ID, "Staff"), "/restock 1 5")
        chatting = threading.Thread(target=chat_along)
        chatting.start()
        wait_for_everyone(telegram, set(chat_ids), started + len(chat_ids) / 10 + 60)
        done.set()
        chatting.join()
        time.sleep(1.5)  # the last replies
    return figures(
        list(telegram.api.requests),
        chat_ids,
        asked,
        started,
        processes,
        paid,
        peak_rss_mb=sampled.peak_mb,
        cpu_seconds=sampled.cpu_seconds,
    )


def wait_for_everyone(telegram: FakeBotApiServer, wanted: set[int], deadline: float) -> None:
    """Until every reader has the good news, or the deadline; reading only the calls
    new since the last look (at 100,000 readers, reading them all five times a second
    took the fake Bot API, in this process, much of its share of the CPU)."""
    missing = set(wanted)
    seen = 0
    while missing and time.monotonic() < deadline:
        time.sleep(0.2)
        requests = telegram.answered()
        missing.difference_update(r.chat_id for r in requests[seen:] if _is_good_news(r))
        seen = len(requests)


async def booking_cost(server_url: str, count: int = 300) -> list[float]:
    """Milliseconds per booking in the shared ledger, one process, nothing else running."""
    async with fresh_database(server_url) as (url, _):
        # At 1000 a second and a chat each, a booking never waits: the round trip alone.
        budget = SharedFloodBudget(parse_database_url(url).connect, 1000)
        timings = []
        for n in range(count):
            started = time.perf_counter()
            await budget.book_reply(n + 1)
            timings.append((time.perf_counter() - started) * 1000)
        await budget.close()
    return timings


def restock_seconds(source: Path, server_url: str, waiting: int, runs: int) -> list[float]:
    """bench/restock.py's timing, run from a source tree (this one, or an older commit's)."""
    script = (
        "import asyncio, json, sys\n"
        "from bench.setup import fresh_database\n"
        "from bench.restock import time_restocks\n"
        "async def main():\n"
        "    async with fresh_database(sys.argv[1]) as (_, engine):\n"
        "        timings = await time_restocks(engine, int(sys.argv[2]), int(sys.argv[3]))\n"
        "        print(json.dumps(timings))\n"
        "asyncio.run(main())\n"
    )
    return [float(value) for value in run_from(source, script, server_url, waiting, runs)]


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench scale")
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--paid-readers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--before", default="b36fb7e", help="commit for the restock's before")
    parser.add_argument(
        "--paid-before", default=None, help="commit whose bot runs the paid broadcast too"
    )
    parser.add_argument(
        "--budget-before", default="9834001", help="commit for the webhook run's before"
    )
    parser.add_argument(
        "--only",
        choices=["processes", "webhook", "paid", "restock"],
        action="append",
        default=[],
        help="run only these parts (repeatable)",
    )
    options = parser.parse_args(argv)

    def wanted(part: str) -> bool:
        return not options.only or part in options.only

    os.environ.setdefault("PTB_TIMEDELTA", "1")
    results: dict[str, list[ScaleResult]] = {}
    restocks: dict[str, list[float]] = {"before": [], "after": []}
    with (
        database_server() as server_url,
        checkout(options.budget_before) as budget_before,
        paid_before(options.paid_before) as old_bot,
    ):
        booking = await booking_cost(server_url)
        for run in range(options.runs):
            variants: list[tuple[str, int, int, bool, Path | None]] = []
            if wanted("processes"):
                variants += [("1 process", 1, options.readers, False, None)]
                variants += [("3 processes", 3, options.readers, False, None)]
            if wanted("webhook"):
                variants += [("3 webhook, before", 3, options.readers, False, budget_before)]
                variants += [("3 webhook", 3, options.readers, False, None)]
                variants += [("3 webhook, 1 killed", 3, options.readers, False, None)]
            if wanted("paid") and old_bot is not None:
                name = f"paid, before ({options.paid_before})"
                variants += [(name, 1, options.paid_readers, True, old_bot)]
            if wanted("paid"):
                variants += [("paid, 1 process", 1, options.paid_readers, True, None)]
            for name, processes, readers, paid, source in variants:
                print(f"load average before {name}: {load_average()}", flush=True)
                if "webhook" in name:
                    kill = "killed" in name
                    result = await run_webhook_scale(server_url, processes, readers, kill, source)
                else:
                    result = await run_scale(server_url, processes, readers, paid, source)
                results.setdefault(name, []).append(result)
                print(f"run {run + 1} {name}: {result}", flush=True)
                print(f"load average after {name}: {load_average()}", flush=True)
        if wanted("restock"):
            with checkout(options.before) as folder:
                for _ in range(options.runs):  # alternate, so drift hits both alike
                    for side, source in (("before", folder), ("after", ROOT)):
                        timings = await asyncio.to_thread(
                            restock_seconds, source, server_url, options.waiting, 3
                        )
                        restocks[side] += timings
                        print(f"restock {side}: {timings}", flush=True)
    print()
    print(report(options, results, restocks, booking))


@contextmanager
def paid_before(commit: str | None) -> Iterator[Path | None]:
    """The older commit's files for its paid broadcast, if one is asked for."""
    if commit is None:
        yield None
        return
    with checkout(commit) as folder:
        yield folder


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def report(
    options: argparse.Namespace,
    results: dict[str, list[ScaleResult]],
    restocks: dict[str, list[float]],
    booking: list[float],
) -> str:
    booking.sort()
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Command: `python3 dev.py bench scale --readers "
        f"{options.readers} --paid-readers {options.paid_readers} --runs {options.runs} "
        f"--waiting {options.waiting} --before {options.before} --budget-before "
        f"{options.budget_before}"
        + (f" --paid-before {options.paid_before}" if options.paid_before else "")
        + "".join(f" --only {part}" for part in options.only)
        + "`.",
        "",
        f"Booking a slot in the shared ledger: median {statistics.median(booking):.2f} ms, "
        f"p99 {booking[int(0.99 * (len(booking) - 1))]:.2f} ms ({len(booking)} bookings).",
        "",
    ]
    if results:
        names = list(results)
        lines += ["| | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
        labels = {
            "readers": "waiting readers",
            "last_message_seconds": "last message after (s)",
            "floor_seconds": "floor (s)",
            "replies": "chat replies measured",
            "reply_p50": "reply p50 (s)",
            "reply_p99": "reply p99 (s)",
            "responses_429": "429 responses",
            "lost": "readers never messaged",
            "duplicated": "messages sent twice",
            "unanswered": "chat messages unanswered",
            "peak_rss_mb": "bot's peak RSS (MB)",
            "cpu_ms_per_message": "bot's CPU per reader messaged (ms)",
            "killed_after": "one process killed after (readers messaged)",
        }
        for field, label in labels.items():
            measured = (getattr(r, field) for runs in results.values() for r in runs)
            if field in ("peak_rss_mb", "cpu_ms_per_message") and not any(measured):
                continue  # the webhook runs don't sample it
            cells = []
            for name in names:
                values = [float(getattr(result, field)) for result in results[name]]
                runs = ", ".join(f"{value:.2f}" for value in values)
                cells.append(f"**{statistics.median(values):.2f}** ({runs})")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        ratios = []
        for name in names:
            ratio = statistics.median(
                r.last_message_seconds / r.floor_seconds for r in results[name]
            )
            ratios.append(f"{name}: {ratio:.2f} x floor")
        lines += ["", "Last message against the floor (median): " + "; ".join(ratios) + "."]
    if restocks["after"]:
        lines += [
            "",
            f"Restock 0 → 5 with {options.waiting:,} waiting (bench/restock.py), alternating:",
            "",
            "| | median | runs |",
            "| --- | --- | --- |",
        ]
        for side in ("before", "after"):
            timings = restocks[side]
            label = f"before ({options.before})" if side == "before" else "after"
            lines.append(
                f"| {label} | **{statistics.median(timings):.2f} s** | "
                f"{', '.join(f'{t:.2f}' for t in timings)} |"
            )
    return "\n".join(lines)
