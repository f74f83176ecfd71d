"""A burst of presses: 400 readers each press Reserve on their own catalog message (one
sold-out book) within 0.11 s. The bot runs as its own process, as deployed, and so does
the fake Bot API (bench/burst_telegram.py, aiohttp, with its own CPU cost as Telegram's
network stack has): it enforces Telegram's flood limits and hands the presses out as
Telegram does, by long polling, at most 100 a getUpdates. Optionally the same against an
earlier commit, side by side (alternating runs, so the machine's load hits both alike).

    python3 dev.py bench burst [--readers 400] [--seconds 0.11] [--runs 3]
        [--before 81cfb98] [--profile burst.prof]
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from io import BytesIO
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy.engine import make_url

from bench.setup import FIRST_READER_ID, database_server, fresh_database

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:BENCH-token_0123456789abcdefghij"
# The case measured from outside (issue 24): 400 readers within 0.11 s.
READERS = 400
BURST_SECONDS = 0.11


@dataclass(frozen=True)
class BurstResult:
    spinner_p50: float
    spinner_p99: float
    spinner_max: float
    confirmation_p50: float
    confirmation_p99: float
    confirmation_last: float
    responses_429: int
    lost: int
    spinners_never_stopped: int
    # The bot process's CPU time from the first press until every spinner stopped: what
    # the burst costs it, which the machine's other load changes less than the timings.
    bot_cpu_burst_seconds: float
    # The same from its first getUpdates to the end (the paced confirmations included).
    bot_cpu_seconds: float
    # The fake Bot API's process, from the first press to the end.
    telegram_cpu_seconds: float


async def run_burst(
    server_url: str, source: Path, readers: int, burst_seconds: float, profile: str | None
) -> BurstResult:
    """One burst against the bot whose code is in source."""
    # Migrated and stocked by the source's own bot, whose schema may be older than ours.
    async with fresh_database(server_url, migrated=False) as (url, _):
        await asyncio.to_thread(import_sold_out_book, source, url)
        with running_telegram(readers) as telegram:
            bot = start(source, url, telegram.base_url, profile)
            try:
                return await asyncio.to_thread(
                    measure, telegram, readers, burst_seconds, bot.pid, profile is not None
                )
            finally:
                bot.send_signal(signal.SIGINT)
                await asyncio.to_thread(bot.wait, 60)


def bot_environment(source: Path, url: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        PYTHONPATH=str(source),
        BOT_TOKEN=TOKEN,
        DATABASE_URL=make_url(url).set(drivername="postgresql").render_as_string(False),
        ADMIN_IDS="1",
        LOG_LEVEL="WARNING",
    )
    return environment


def import_sold_out_book(source: Path, url: str) -> None:
    """Book #1, Dune, sold out: through the source's `bookstore-bot import-books`."""
    catalog = source / "burst-catalog.csv"
    catalog.write_text("title,author,quantity\nDune,Frank Herbert,0\n")
    subprocess.run(
        [sys.executable, "-m", "bot", "import-books", str(catalog)],
        cwd=source,
        env=bot_environment(source, url),
        check=True,
        capture_output=True,
    )


@dataclass(frozen=True)
class Telegram:
    """The fake Bot API's process (bench/burst_telegram.py), always this checkout's."""

    pid: int
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def ask(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        address = f"http://127.0.0.1:{self.port}/burst/{path}"
        request = urllib.request.Request(address, data)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())


@contextmanager
def running_telegram(readers: int) -> Iterator[Telegram]:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.burst_telegram"),
            *("--readers", str(readers), "--first-reader", str(FIRST_READER_ID)),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield Telegram(process.pid, port)
    finally:
        process.terminate()
        process.wait(30)


def start(source: Path, url: str, base_url: str, profile: str | None) -> subprocess.Popen[bytes]:
    environment = bot_environment(source, url)
    environment["TELEGRAM_BASE_URL"] = base_url
    if profile:  # the bench's own module, found through PYTHONPATH's second entry
        environment["PYTHONPATH"] += os.pathsep + str(ROOT)
        command = ["-m", "bench.burst_profile", str(Path(profile).resolve())]
    else:
        command = ["-m", "bot", "run"]
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=source,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(
    telegram: Telegram, readers: int, burst_seconds: float, bot_pid: int, profiled: bool
) -> BurstResult:
    # A --before checkout starts without bytecode caches: slow on a busy machine.
    wait_until(lambda status: status["polls"] > 0, telegram, timeout=180)
    # Polling: the bot's start-up (menus, the dispatcher's first look) settles first.
    time.sleep(1.0)
    cpu_at_start = cpu_seconds(bot_pid)
    telegram_cpu_at_start = cpu_seconds(telegram.pid)
    if profiled:  # bench/burst_profile.py: counting from here
        os.kill(bot_pid, signal.SIGUSR1)
    telegram.ask("press", {"seconds": burst_seconds})
    burst_cpu: float | None = None
    # Done when every reader has a confirmation, or nothing has happened for a while.
    while True:
        time.sleep(0.01 if burst_cpu is None else 0.2)
        status = telegram.ask("status")
        if burst_cpu is None and status["answered"] >= readers:
            burst_cpu = cpu_seconds(bot_pid) - cpu_at_start
            if profiled:  # to here, the statistics written
                os.kill(bot_pid, signal.SIGUSR2)
        if status["confirmed"] >= readers:
            break
        last = status["last_call_at"]
        if last is not None and time.monotonic() - last > 5:
            break
    bot_cpu = cpu_seconds(bot_pid) - cpu_at_start
    telegram_cpu = cpu_seconds(telegram.pid) - telegram_cpu_at_start
    record = telegram.ask("calls")
    calls: list[dict[str, Any]] = record["calls"]
    answered: dict[str, float] = {}
    for call in calls:
        if call["method"] == "answerCallbackQuery" and call["error_code"] is None:
            answered.setdefault(str(call["callback_query_id"]), call["at"])
    # A spinner never stopped counts as stopped at the end.
    end = calls[-1]["at"]
    spinner = sorted(answered.get(query, end) - at for query, _, at in record["pressed"])
    # Each reader presses once: their chat's confirmation is that press's.
    pressed_in = {chat: at for _, chat, at in record["pressed"]}
    confirmed = {
        call["chat_id"]: call["at"]
        for call in calls
        if call["confirmation"] and call["error_code"] is None
    }
    confirmation = sorted(at - pressed_in[chat] for chat, at in confirmed.items())
    return BurstResult(
        spinner_p50=statistics.median(spinner),
        spinner_p99=_percentile(spinner, 0.99),
        spinner_max=spinner[-1],
        confirmation_p50=statistics.median(confirmation),
        confirmation_p99=_percentile(confirmation, 0.99),
        confirmation_last=max(confirmed.values()) - min(pressed_in.values()),
        responses_429=len([call for call in calls if call["error_code"] == 429]),
        lost=readers - len(confirmed),
        spinners_never_stopped=readers - len(answered),
        bot_cpu_burst_seconds=bot_cpu if burst_cpu is None else burst_cpu,
        bot_cpu_seconds=bot_cpu,
        telegram_cpu_seconds=telegram_cpu,
    )


def wait_until(
    condition: Callable[[dict[str, Any]], bool], telegram: Telegram, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not condition(telegram.ask("status")):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not poll within {timeout} s")
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], share: float) -> float:
    return values[max(0, int(share * len(values)) - 1)]


@contextmanager
def checkout(commit: str) -> Iterator[Path]:
    """The project's files at commit, in a temporary folder."""
    git = shutil.which("git") or "git"
    archive = subprocess.run(
        [git, "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with TemporaryDirectory(prefix="bookstore-before-") as folder:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        # Its own migrations as bot.migrations, ahead of the editable install's mapping
        # to this checkout's (which may hold revisions it does not know).
        # (A commit that holds the developers' symlink bot/migrations gets a copy instead.)
        linked = Path(folder) / "bot" / "migrations"
        if linked.is_symlink():
            linked.unlink()
        shutil.copytree(Path(folder) / "migrations", linked)
        locales = Path(folder) / "bot" / "i18n" / "locales"
        if locales.is_dir():  # compiled catalogs are built, not committed
            pybabel = Path(sys.executable).with_name("pybabel")
            subprocess.run(
                [str(pybabel), "compile", "--directory", str(locales), "--domain", "bot"],
                capture_output=True,
                check=True,
            )
        yield Path(folder)


def run_from(source: Path, script: str, *arguments: object) -> Any:
    """Run a Python script with source's code (this tree, or an older commit's checkout)
    and return what it printed last, as JSON."""
    output = subprocess.run(
        [sys.executable, "-c", script, *map(str, arguments)],
        cwd=source,
        env=dict(os.environ, PYTHONPATH=str(source)),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


LABELS = {
    "spinner_p50": "spinner stopped after, p50 (s)",
    "spinner_p99": "spinner stopped after, p99 (s)",
    "spinner_max": "spinner stopped after, max (s)",
    "confirmation_p50": "confirmation after the press, p50 (s)",
    "confirmation_p99": "confirmation after the press, p99 (s)",
    "confirmation_last": "last confirmation after the first press (s)",
    "responses_429": "429 responses",
    "lost": "readers never confirmed",
    "spinners_never_stopped": "spinners never stopped",
    "bot_cpu_burst_seconds": "bot's CPU from the first press to the last spinner (s)",
    "bot_cpu_seconds": "bot's CPU from the first press to the end (s)",
    "telegram_cpu_seconds": "fake Bot API's CPU from the first press to the end (s)",
}


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench burst")
    parser.add_argument(
        "--readers", type=int, default=READERS, help="readers pressing Reserve, once each"
    )
    parser.add_argument(
        "--seconds", type=float, default=BURST_SECONDS, help="the presses come within this"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant")
    parser.add_argument("--before", metavar="COMMIT", help="also run this commit's bot")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run this checkout's bot under cProfile, its statistics written to FILE",
    )
    options = parser.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    load_before = _load()
    with database_server() as server_url, _sources(options.before) as sources:
        results: dict[str, list[BurstResult]] = {name: [] for name in sources}
        for run in range(options.runs):
            for name, source in sources.items():  # alternate, so drift hits both alike
                profile = options.profile if source == ROOT else None
                result = await run_burst(
                    server_url, source, options.readers, options.seconds, profile
                )
                results[name].append(result)
                print(f"run {run + 1} {name}: {result}", flush=True)
    print()
    print(report(options, results, load_before))


@contextmanager
def _sources(before: str | None) -> Iterator[dict[str, Path]]:
    if before is None:
        yield {"this checkout": ROOT}
        return
    with checkout(before) as folder:
        yield {f"before ({before})": folder, "after (this checkout)": ROOT}


def report(
    options: argparse.Namespace, results: dict[str, list[BurstResult]], load_before: str
) -> str:
    floor = options.readers / 30
    before = f" --before {options.before}" if options.before else ""
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Command: `python3 dev.py bench burst --readers "
        f"{options.readers} --seconds {options.seconds} --runs {options.runs}{before}`. "
        f"Load average (1, 5, 15 min) before: {load_before}; after: {_load()}.",
        "",
        f"{options.readers} readers each press Reserve on their own catalog message (one "
        f"sold-out book) within {options.seconds} s; the fake Bot API runs as its own "
        "process (aiohttp), hands the presses out by long polling, at most 100 a "
        "getUpdates, and enforces 30 messages/s overall and 1/s per chat (floor "
        f"{floor:.1f} s). Medians of {options.runs} runs:",
        "",
        "| | " + " | ".join(results) + " |",
        "| --- |" + " --- |" * len(results),
    ]
    for field in fields(BurstResult):
        cells = []
        for runs in results.values():
            values = [getattr(result, field.name) for result in runs]
            listed = ", ".join(_number(value) for value in values)
            # Counts stay whole: the lower median of an even number of runs.
            whole = all(isinstance(value, int) for value in values)
            median = statistics.median_low(values) if whole else statistics.median(values)
            cells.append(f"**{_number(median)}** ({listed})")
        lines.append(f"| {LABELS[field.name]} | " + " | ".join(cells) + " |")
    for name, runs in results.items():
        last = statistics.median(result.confirmation_last for result in runs)
        lines.append(
            f"\n{name}: last confirmation {last / floor:.2f} times the {floor:.1f} s floor."
        )
    return "\n".join(lines)


def _load() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def _number(value: float) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)
