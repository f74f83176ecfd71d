"""A burst of presses: many readers press Reserve on one sold-out book within a second,
against a fake Bot API that enforces Telegram's flood limits; the bot runs as its own
process, as deployed. Optionally the same against an earlier commit, side by side.

    python3 dev.py bench burst [--readers 500] [--runs 3] [--before 81cfb98]
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from io import BytesIO
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy.engine import make_url

from bench.setup import FIRST_READER_ID, database_server, fresh_database
from bot.playground.flood_control import FloodLimits
from bot.playground.local_bot_api import SentRequest
from tests.chat import Person, catalog_message
from tests.fake_bot_api_server import FakeBotApiServer, running_fake_bot_api

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:BENCH-token_0123456789abcdefghij"
CONFIRMATION = "Reserved <b>Dune</b>"
BURST_SECONDS = 1.0


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
    # The bot process's CPU time from its first getUpdates to the end: what a press
    # costs, which the machine's other load does not change as much as the timings.
    bot_cpu_seconds: float


async def run_burst(server_url: str, source: Path, readers: int) -> BurstResult:
    """One burst against the bot whose code is in source."""
    # Migrated and stocked by the source's own bot, whose schema may be older than ours.
    async with fresh_database(server_url, migrated=False) as (url, _):
        await asyncio.to_thread(import_sold_out_book, source, url)
        with running_fake_bot_api() as telegram:
            telegram.api.limits = FloodLimits(per_second=30, per_chat_per_second=1)
            bot = start(source, url, telegram)
            try:
                return await asyncio.to_thread(measure, telegram, readers, bot.pid)
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


def start(source: Path, url: str, telegram: FakeBotApiServer) -> subprocess.Popen[bytes]:
    environment = bot_environment(source, url)
    environment["TELEGRAM_BASE_URL"] = telegram.base_url
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=source,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(telegram: FakeBotApiServer, readers: int, bot_pid: int) -> BurstResult:
    # A --before checkout starts without bytecode caches: slow on a busy machine.
    telegram.wait_for_polling(timeout=180)
    cpu_at_start = cpu_seconds(bot_pid)
    people = [Person(FIRST_READER_ID + n, f"Reader {n}") for n in range(readers)]
    pressed_at: dict[int, float] = {}
    started = time.monotonic()
    for n, person in enumerate(people):
        time.sleep(max(0.0, started + n * BURST_SECONDS / readers - time.monotonic()))
        pressed_at[person.id] = time.monotonic()
        # The fake numbers updates 1, 2, … and the query id is the update id.
        telegram.press_button(person, "r:1", catalog_message(person))
    # Done when every reader has a confirmation, or nothing has happened for a while.
    while True:
        time.sleep(0.2)
        requests = list(telegram.api.requests)
        if len({r.chat_id for r in requests if _is_confirmation(r)}) == readers:
            break
        if requests and time.monotonic() - requests[-1].at > 5:
            break
    requests = list(telegram.api.requests)
    bot_cpu = cpu_seconds(bot_pid) - cpu_at_start
    answered: dict[int, float] = {}
    for request in requests:
        if request.method == "answerCallbackQuery" and request.error_code is None:
            query = int(request.params["callback_query_id"])
            answered.setdefault(query, request.at)
    # A spinner never stopped counts as stopped at the end.
    spinner = sorted(
        answered.get(n + 1, requests[-1].at) - pressed_at[person.id]
        for n, person in enumerate(people)
    )
    confirmed = {r.chat_id: r.at for r in requests if _is_confirmation(r)}
    confirmation = sorted(at - pressed_at[int(chat)] for chat, at in confirmed.items() if chat)
    return BurstResult(
        spinner_p50=statistics.median(spinner),
        spinner_p99=_percentile(spinner, 0.99),
        spinner_max=spinner[-1],
        confirmation_p50=statistics.median(confirmation),
        confirmation_p99=_percentile(confirmation, 0.99),
        confirmation_last=max(confirmed.values()) - started,
        responses_429=len([r for r in requests if r.error_code == 429]),
        lost=readers - len(confirmed),
        spinners_never_stopped=readers - len(answered),
        bot_cpu_seconds=bot_cpu,
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _is_confirmation(request: SentRequest) -> bool:
    return (
        request.method == "sendMessage"
        and request.error_code is None
        and CONFIRMATION in request.text
    )


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
        # (28aee24 has bot/migrations committed as the tests' symlink to them: kept.)
        if not (Path(folder) / "bot" / "migrations").exists():
            shutil.copytree(Path(folder) / "migrations", Path(folder) / "bot" / "migrations")
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
    "bot_cpu_seconds": "bot's CPU from first poll to end (s)",
}


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench burst")
    parser.add_argument("--readers", type=int, default=500, help="readers pressing Reserve")
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant")
    parser.add_argument("--before", metavar="COMMIT", help="also run this commit's bot")
    options = parser.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    with database_server() as server_url, _sources(options.before) as sources:
        results: dict[str, list[BurstResult]] = {name: [] for name in sources}
        for run in range(options.runs):
            for name, source in sources.items():  # alternate, so drift hits both alike
                result = await run_burst(server_url, source, options.readers)
                results[name].append(result)
                print(f"run {run + 1} {name}: {result}", flush=True)
    print()
    print(report(options, results))


@contextmanager
def _sources(before: str | None) -> Iterator[dict[str, Path]]:
    if before is None:
        yield {"this checkout": ROOT}
        return
    with checkout(before) as folder:
        yield {f"before ({before})": folder, "after (this checkout)": ROOT}


def report(options: argparse.Namespace, results: dict[str, list[BurstResult]]) -> str:
    floor = options.readers / 30
    before = f" --before {options.before}" if options.before else ""
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Command: `python3 dev.py bench burst --readers "
        f"{options.readers} --runs {options.runs}{before}`.",
        "",
        f"{options.readers} readers press Reserve on one sold-out book within "
        f"{BURST_SECONDS:.0f} s; fake Bot API enforcing 30 messages/s overall and 1/s per "
        f"chat (floor {floor:.1f} s). Medians of {options.runs} runs:",
        "",
        "| | " + " | ".join(results) + " |",
        "| --- |" + " --- |" * len(results),
    ]
    for field in fields(BurstResult):
        cells = []
        for runs in results.values():
            values = [getattr(result, field.name) for result in runs]
            listed = ", ".join(_number(value) for value in values)
            cells.append(f"**{_number(statistics.median(values))}** ({listed})")
        lines.append(f"| {LABELS[field.name]} | " + " | ".join(cells) + " |")
    for name, runs in results.items():
        last = statistics.median(result.confirmation_last for result in runs)
        lines.append(
            f"\n{name}: last confirmation {last / floor:.2f} times the {floor:.1f} s floor."
        )
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)
