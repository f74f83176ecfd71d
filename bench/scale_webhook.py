"""Bot processes in webhook mode behind a round-robin balancer, one flood budget: the
webhook variants of bench/scale.py (`python3 dev.py bench scale --only webhook`).

The bench is Telegram posting updates and the balancer in front of the processes: each
update goes to the next process in turn, and to the one after when a process doesn't
answer (a balancer's health check, shortened). In the second variant the last process is
SIGKILLed once KILL_AFTER of the readers have their message.
"""

import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bench.broadcast import ADMIN_ID, TOKEN, VARIANTS, _is_good_news
from bench.scale_figures import ScaleResult, chat_times, chatters, figures
from bench.setup import fresh_database, seed_waiting_readers
from bot.playground.flood_control import FloodLimits
from tests.chat import Person, message_update
from tests.fake_bot_api_server import FakeBotApiServer, running_fake_bot_api
from tests.test_webhook_end_to_end import free_port

PATH = "/telegram/updates"
SECRET = "bench_Secret"
SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
KILL_AFTER = 0.3

Bot = subprocess.Popen[bytes]
# Run from a checkout (bench/burst.py's, with its migrations as bot.migrations): the
# editable install's finder would map bot.migrations to this checkout's, which may hold
# revisions the older code does not know (or, worse, apply them).
OWN_CODE = (
    "import sys\n"
    "sys.meta_path[:] = [finder for finder in sys.meta_path\n"
    "    if not getattr(finder, '__module__', '').startswith('__editable__')]\n"
)


class Balancer:
    """Round robin over the processes; a process that doesn't answer is skipped."""

    def __init__(self, addresses: list[str]) -> None:
        self._clients = [httpx.AsyncClient(base_url=address) for address in addresses]
        self._turns: Iterator[httpx.AsyncClient] = itertools.cycle(self._clients)
        self._update_ids = itertools.count(1)

    async def post(self, person: Person, text: str) -> None:
        update = message_update(next(self._update_ids), person, text)
        for _ in self._clients:
            client = next(self._turns)
            try:
                response = await client.post(PATH, json=update, headers=SECRET_HEADER)
            except httpx.TransportError:
                continue
            if response.status_code == 200:
                return
        raise RuntimeError("no process took the update")

    async def wait_until_healthy(self, bots: list[Bot]) -> None:
        async with asyncio.timeout(90):
            for client, bot in zip(self._clients, bots, strict=True):
                while True:
                    assert bot.poll() is None, "a bot process stopped"
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


def start(url: str, telegram: FakeBotApiServer, source: Path | None) -> tuple[Bot, str]:
    """A bot process in webhook mode: the installed bot, or source's (an older commit)."""
    port = free_port()
    environment = dict(os.environ)
    environment.update(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=plain(url),
        ADMIN_IDS=str(ADMIN_ID),
        TELEGRAM_BASE_URL=telegram.base_url,
        LOG_LEVEL="WARNING",
        WEBHOOK_URL=f"https://bot.example.com{PATH}",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    command = VARIANTS["outbox"]
    if source is not None:
        command = [sys.executable, "-c", OWN_CODE + "from bot.cli import main\nmain()\n", "run"]
        environment["PYTHONPATH"] = str(source)
    bot = subprocess.Popen(
        command,
        cwd=source,  # python -c puts the working folder first on the path
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return bot, f"http://127.0.0.1:{port}"


def plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def compiled_catalogs_into(source: Path) -> None:
    """The translations a checkout lacks (compiled at install, not kept in git): this
    checkout's, which a reader's language only needs to find."""
    locales = Path(__file__).resolve().parent.parent / "bot" / "i18n" / "locales"
    for catalog in locales.glob("*/LC_MESSAGES/*.mo"):
        target = source / "bot" / "i18n" / "locales" / catalog.relative_to(locales)
        if not target.exists():
            shutil.copyfile(catalog, target)


def migrate_with(source: Path, url: str) -> None:
    """The schema as source's own migrations make it (it may not know later ones).

    Through its `bookstore-bot migrate`, which every version has wherever the module that
    migrates lives."""
    script = OWN_CODE + "from bot.cli import main\nsys.exit(main())\n"
    environment = dict(
        os.environ, PYTHONPATH=str(source), DATABASE_URL=plain(url), LOG_LEVEL="WARNING"
    )
    command = [sys.executable, "-c", script, "migrate"]
    subprocess.run(command, cwd=source, env=environment, check=True, stdout=subprocess.DEVNULL)


async def run_webhook_scale(
    server_url: str, processes: int, readers: int, kill: bool, source: Path | None = None
) -> ScaleResult:
    async with fresh_database(server_url, migrated=source is None) as (url, engine):
        if source is not None:
            compiled_catalogs_into(source)
            await asyncio.to_thread(migrate_with, source, url)
        chat_ids = await seed_waiting_readers(engine, readers)
        with running_fake_bot_api() as telegram:
            telegram.api.limits = FloodLimits(per_second=30, per_chat_per_second=1)
            started = [start(url, telegram, source) for _ in range(processes)]
            bots = [bot for bot, _ in started]
            balancer = Balancer([address for _, address in started])
            try:
                await balancer.wait_until_healthy(bots)
                return await measure(telegram, balancer, bots, chat_ids, kill)
            finally:
                await balancer.close()
                for bot in bots:
                    if bot.poll() is None:
                        bot.send_signal(signal.SIGINT)
                for bot in bots:
                    await asyncio.to_thread(bot.wait, 30)


async def measure(
    telegram: FakeBotApiServer,
    balancer: Balancer,
    bots: list[Bot],
    chat_ids: list[int],
    kill: bool,
) -> ScaleResult:
    asked: dict[int, list[float]] = {}
    posting: set[asyncio.Task[None]] = set()

    async def chat_along() -> None:
        for at, person in chat_times(chatters()):
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            asked.setdefault(person.id, []).append(time.monotonic())
            task = asyncio.create_task(balancer.post(person, "/help"))
            posting.add(task)
            task.add_done_callback(posting.discard)

    started = time.monotonic()
    await balancer.post(Person(ADMIN_ID, "Staff"), "/restock 1 5")
    chatting = asyncio.create_task(chat_along())
    wanted = set(chat_ids)
    killed_after = 0
    deadline = started + len(chat_ids) / 10 + 90
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        delivered = {int(r.chat_id or 0) for r in list(telegram.api.requests) if _is_good_news(r)}
        if kill and not killed_after and len(delivered) >= KILL_AFTER * len(chat_ids):
            bots[-1].send_signal(signal.SIGKILL)
            killed_after = len(delivered)
        if delivered >= wanted:
            break
    chatting.cancel()
    await asyncio.gather(*posting, return_exceptions=True)
    await asyncio.sleep(1.5)  # the last replies
    requests = list(telegram.api.requests)
    return figures(requests, chat_ids, asked, started, len(bots), False, killed_after)
