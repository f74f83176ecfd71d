"""The installed bot in webhook mode, as a bookstore runs it behind a load balancer."""

import asyncio
import contextlib
import itertools
import re
import signal
import socket
import subprocess
from pathlib import Path

import httpx

from bot.postgres import migrate
from tests.chat import ALICE, Person, message_update
from tests.conftest import TOKEN, temporary_database
from tests.fake_bot_api_server import FakeBotApiServer, running_fake_bot_api
from tests.test_command_line import bookstore_bot, plain_url
from tests.test_polling_end_to_end import reply_to, start_bot, stop_bot

SECRET = "end-to-end_Secret"
PATH = "/telegram/updates"
RIGHT = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_webhook_bot(
    cwd: Path, telegram: FakeBotApiServer, database_url: str
) -> tuple[subprocess.Popen[str], str]:
    """A bot process in webhook mode on a free port; returns it and its base URL."""
    port = free_port()
    bot = start_bot(
        cwd,
        telegram,
        DATABASE_URL=plain_url(database_url),
        WEBHOOK_URL=f"https://bot.example.com{PATH}",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    return bot, f"http://127.0.0.1:{port}"


async def wait_until_healthy(client: httpx.AsyncClient, bot: subprocess.Popen[str]) -> None:
    async with asyncio.timeout(60):
        while True:
            assert bot.poll() is None, "the bot stopped"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


HANDLED = re.compile(r'^bot_updates_handled_total\{kind="message"\} (\S+)$', re.MULTILINE)
HANDLED_ONE_MESSAGE = 'bot_updates_handled_total{kind="message"} 1.0'


async def metrics_showing(client: httpx.AsyncClient, line: str) -> str:
    """/metrics once it shows line: an update is counted when its handler ends, a moment
    after its reply went out."""
    async with asyncio.timeout(10):
        while line not in (metrics := (await client.get("/metrics")).text):
            await asyncio.sleep(0.1)
    return metrics


async def stop_with(bot: subprocess.Popen[str], signum: signal.Signals) -> str:
    return await stop_bot(bot, signum)


async def test_the_installed_bot_takes_updates_through_its_webhook(
    server_url: str, tmp_path: Path
) -> None:
    async with temporary_database(server_url) as url:
        with running_fake_bot_api() as telegram:
            bot, address = start_webhook_bot(tmp_path, telegram, url)
            try:
                async with httpx.AsyncClient(base_url=address) as client:
                    await wait_until_healthy(client, bot)
                    update = message_update(1, ALICE, "/start")
                    refused = await client.post(PATH, json=update)
                    assert refused.status_code == 403
                    taken = await client.post(PATH, json=update, headers=RIGHT)
                    assert taken.status_code == 200
                    await asyncio.to_thread(
                        telegram.wait_for, reply_to(ALICE.id, "Hello, Alice!"), 30
                    )
                    metrics = await metrics_showing(client, HANDLED_ONE_MESSAGE)
            finally:
                # As an orchestrator stops it.
                output = await stop_with(bot, signal.SIGTERM)
    assert bot.returncode == 0, output
    [registration] = telegram.api.sent("setWebhook")
    assert registration.params["url"] == f"https://bot.example.com{PATH}"
    assert registration.params["secret_token"] == SECRET
    assert set(registration.params["allowed_updates"]) == {
        "message",
        "callback_query",
        "my_chat_member",
        "inline_query",
    }
    assert telegram.polls == 0, "a webhook bot must not poll"
    assert 'bot_updates_handled_total{kind="message"} 1.0' in metrics
    assert 'bot_webhook_requests_refused_total{reason="secret"} 1.0' in metrics
    assert TOKEN not in output + metrics  # a full run's logs, at DEBUG
    assert SECRET not in output
    assert "Traceback" not in output


class RoundRobin:
    """A load balancer's simplest rule: each request to the next process in turn."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self._next = itertools.cycle(clients)

    async def post(self, update: dict[str, object]) -> int:
        client = next(self._next)
        return (await client.post(PATH, json=update, headers=RIGHT)).status_code


async def handled_by_each(clients: list[httpx.AsyncClient], total: int) -> list[int]:
    """Messages each process handled, once they add up to total."""
    async with asyncio.timeout(10):
        while sum([await handled_messages(client) for client in clients]) < total:
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # and no more come
    return [await handled_messages(client) for client in clients]


async def handled_messages(client: httpx.AsyncClient) -> int:
    found = HANDLED.search((await client.get("/metrics")).text)
    return int(float(found[1])) if found else 0


async def test_three_processes_behind_a_balancer_answer_each_update_once(
    server_url: str, tmp_path: Path
) -> None:
    """Readers chatting through a round-robin balancer; Telegram sends some updates twice
    (a retry), which lands on another process."""
    readers = [Person(5000 + n, f"Reader {n}") for n in range(12)]
    async with temporary_database(server_url) as url:
        # Migrated once before the processes start, as a deployment does.
        await asyncio.to_thread(migrate.upgrade, url)
        with running_fake_bot_api() as telegram:
            started = [start_webhook_bot(tmp_path, telegram, url) for _ in range(3)]
            bots = [bot for bot, _ in started]
            try:
                async with contextlib.AsyncExitStack() as stack:
                    clients = [
                        await stack.enter_async_context(httpx.AsyncClient(base_url=address))
                        for _, address in started
                    ]
                    for client, bot in zip(clients, bots, strict=True):
                        await wait_until_healthy(client, bot)
                    balancer = RoundRobin(clients)
                    updates = [
                        message_update(update_id, person, "/start")
                        for update_id, person in enumerate(readers, start=1)
                    ]
                    # Half come again after the first was taken in, so the balancer's spread
                    # decides who handles them (two each); the other half come twice at once
                    # and two processes race for each.
                    statuses = []
                    for update in updates[:6]:
                        statuses += [await balancer.post(update), await balancer.post(update)]
                    statuses += await asyncio.gather(
                        *(balancer.post(update) for update in updates[6:] for _ in range(2))
                    )
                    assert statuses == [200] * 2 * len(updates)
                    for person in readers:
                        await asyncio.to_thread(
                            telegram.wait_for, reply_to(person.id, "Hello"), 30
                        )
                    handled = await handled_by_each(clients, len(readers))
            finally:
                outputs = [await stop_with(bot, signal.SIGINT) for bot in bots]
    assert [bot.returncode for bot in bots] == [0, 0, 0], outputs
    assert [telegram.api.received(person.id, "Hello") for person in readers] == [1] * 12
    assert sum(handled) == len(readers)
    # The balancer spread them: every process handled some.
    assert all(count > 0 for count in handled), handled


async def test_webhook_settings_are_checked_in_one_line(tmp_path: Path) -> None:
    base = {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.com/hook"}
    missing = await bookstore_bot(tmp_path, "run", **base)
    malformed = await bookstore_bot(tmp_path, "run", **base, WEBHOOK_SECRET="not secret!")
    clash = await bookstore_bot(
        tmp_path, "run", BOT_TOKEN=TOKEN, WEBHOOK_URL="https://x.example/metrics"
    )
    assert missing.stderr == (
        "bookstore-bot: error: invalid configuration: "
        "WEBHOOK_SECRET: is required when WEBHOOK_URL is set\n"
    )
    assert "WEBHOOK_SECRET: must be 1-256 characters of A-Z a-z 0-9 _ -" in malformed.stderr
    assert "not secret" not in malformed.stderr
    assert "WEBHOOK_URL: must not end in /healthz or /metrics" in clash.stderr
    assert [r.returncode for r in (missing, malformed, clash)] == [2, 2, 2]


async def test_a_port_in_use_is_one_line(server_url: str, tmp_path: Path) -> None:
    async with temporary_database(server_url) as url:
        with running_fake_bot_api() as telegram, socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = await bookstore_bot(
                tmp_path,
                "run",
                BOT_TOKEN=TOKEN,
                DATABASE_URL=plain_url(url),
                TELEGRAM_BASE_URL=telegram.base_url,
                WEBHOOK_URL="https://bot.example.com/hook",
                WEBHOOK_SECRET=SECRET,
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(port),
            )
    assert result.returncode == 2, result.stderr
    last_line = result.stderr.splitlines()[-1]
    assert last_line.startswith(f"bookstore-bot: error: cannot listen on 127.0.0.1:{port}")


async def test_a_polling_bot_serves_health_and_metrics_on_http_port(
    server_url: str, tmp_path: Path
) -> None:
    port = free_port()
    async with temporary_database(server_url) as url:
        with running_fake_bot_api() as telegram:
            bot = start_bot(
                tmp_path,
                telegram,
                DATABASE_URL=plain_url(url),
                HTTP_PORT=str(port),
                WEBHOOK_LISTEN="127.0.0.1",
                METRICS_ALLOW="127.0.0.1",
            )
            # Another address on the same host, as a client outside METRICS_ALLOW.
            elsewhere = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
            try:
                async with (
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
                    httpx.AsyncClient(base_url=client.base_url, transport=elsewhere) as outside,
                ):
                    await wait_until_healthy(client, bot)
                    telegram.send_text(ALICE, "/start")
                    await asyncio.to_thread(telegram.wait_for, reply_to(ALICE.id, "Hello"), 30)
                    metrics = await metrics_showing(client, HANDLED_ONE_MESSAGE)
                    webhook = await client.post(PATH, json=message_update(9, ALICE, "/start"))
                    refused = await outside.get("/metrics")
                    health = await outside.get("/healthz")
            finally:
                output = await stop_with(bot, signal.SIGINT)
    assert bot.returncode == 0, output
    assert refused.status_code == 403
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert 'bot_updates_handled_total{kind="message"} 1.0' in metrics
    assert 'bot_messages_sent_total{kind="reply"} 1.0' in metrics
    assert webhook.status_code == 404  # polling: no webhook to post to
    assert TOKEN not in output + metrics
