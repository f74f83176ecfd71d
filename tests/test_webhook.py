"""Webhook mode in process: the real Application behind the real web server, over HTTP."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.database import create_engine, create_session_factory
from bot.playground.local_bot_api import SentRequest
from bot.services import Services
from bot.telegram.application import ALLOWED_UPDATES
from bot.telegram.context import BotApplication
from bot.web.received_updates import ReceivedUpdates
from bot.web.registration import WebhookRegistration
from bot.web.run import Webhook, webhook_server
from bot.web.server import WebServer
from bot.web.webhook import SECRET_HEADER
from tests.chat import ALICE, BOB, message_update
from tests.conftest import bot_application, running
from tests.fake_telegram import FakeBotApi

SECRET = "s3cret_Token-for-tests"
WEBHOOK = Webhook("https://bot.example.com/telegram/hook", SECRET)
PATH = "/telegram/hook"
RIGHT = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


@asynccontextmanager
async def serving(server: WebServer) -> AsyncIterator[httpx.AsyncClient]:
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            yield client
    finally:
        await server.stop()


@asynccontextmanager
async def webhook_bot(
    services: Services, api: FakeBotApi, engine: AsyncEngine, name: str = ""
) -> AsyncIterator[httpx.AsyncClient]:
    """A bot taking updates through its webhook on a free port; the client posts to it."""
    application = bot_application(services, api, name=name)
    server = webhook_server(application, engine, WEBHOOK, "127.0.0.1", 0)
    async with running(application), serving(server) as client:
        yield client


@pytest.fixture(autouse=True)
async def no_updates_received(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE webhook_updates"))


async def eventually(condition: Callable[[], bool], within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.02)


async def received_count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM webhook_updates")) or 0)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_update_is_answered_at_once_and_handled_after(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    async with webhook_bot(services, api, engine) as client:
        api.send_delay = 0.5  # the reply is slow; Telegram's request is not kept waiting
        response = await client.post(PATH, json=message_update(1, ALICE, "/start"), headers=RIGHT)
        assert response.status_code == 200
        assert response.elapsed.total_seconds() < 0.4
        assert api.sent("sendMessage") == []
        await eventually(lambda: api.received(ALICE.id, "Hello, Alice!") == 1)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""}],
    ids=["missing", "wrong", "empty"],
)
async def test_a_request_without_the_secret_is_refused_and_never_processed(
    services: Services, api: FakeBotApi, engine: AsyncEngine, headers: dict[str, str]
) -> None:
    refused = sample("bot_webhook_requests_refused_total", reason="secret")
    async with webhook_bot(services, api, engine) as client:
        response = await client.post(
            PATH, json=message_update(1, ALICE, "/start"), headers=headers
        )
        assert response.status_code == 403
        await asyncio.sleep(0.3)
        # The same update with the secret is new: the refused one left no trace.
        response = await client.post(PATH, json=message_update(1, BOB, "/start"), headers=RIGHT)
        assert response.status_code == 200
        await eventually(lambda: api.received(BOB.id, "Hello, Bob!") == 1)
    assert api.sent("sendMessage", ALICE.id) == []
    assert sample("bot_webhook_requests_refused_total", reason="secret") == refused + 1


async def post_on(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter], update: Any) -> int:
    """POST update on an open HTTP/1.1 connection, kept open; the answer's status."""
    reader, writer = stream
    body = json.dumps(update).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: bot.example.com\r\nContent-Type: application/json\r\n"
        f"{SECRET_HEADER}: {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    status_line, *headers = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
    length = next(int(h.split(":")[1]) for h in headers if h.lower().startswith("content-length"))
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def test_a_connection_idle_for_a_while_still_takes_updates(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """A balancer (or Telegram) keeps an idle connection to the server for up to a minute
    and sends the next update on it; uvicorn's default closes it after 5 s, under its
    feet. One raw connection, so nothing reconnects behind the test's back."""
    async with webhook_bot(services, api, engine) as client:
        stream = await asyncio.open_connection("127.0.0.1", client.base_url.port)
        assert await post_on(stream, message_update(1, ALICE, "/start")) == 200
        await asyncio.sleep(6.5)
        assert await post_on(stream, message_update(2, BOB, "/start")) == 200
        await eventually(lambda: api.received(BOB.id, "Hello, Bob!") == 1)
        stopping = time.monotonic()
    # An idle connection, open still, does not hold up stopping.
    assert time.monotonic() - stopping < 2
    assert await stream[0].read() == b""
    stream[1].close()
    assert api.received(ALICE.id, "Hello, Alice!") == 1


NOT_UPDATES = {
    "not JSON": b"/start",
    "not UTF-8": b'{"update_id": 1, "message": "\xff"}',
    "a list": b"[1, 2]",
    "no update_id": b'{"message": {}}',
    "a text update_id": b'{"update_id": "7"}',
    "a negative update_id": b'{"update_id": -1}',
    "a boolean update_id": b'{"update_id": true}',
    "an update_id beyond bigint": b'{"update_id": 9223372036854775808}',
    "a message that is not one": b'{"update_id": 1, "message": {"text": "hi"}}',
    "a message that is a string": b'{"update_id": 1, "message": "hi"}',
    "nested beyond reason": b"[" * 200_000 + b"]" * 200_000,
    "huge": b'{"update_id": 1, "padding": "' + b"x" * 2_000_000 + b'"}',
    "empty": b"",
}


async def endless_chunks() -> AsyncIterator[bytes]:
    for _ in range(40):
        yield b"x" * 65_536


async def test_malformed_bodies_get_400_and_change_nothing(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    refused = sample("bot_webhook_requests_refused_total", reason="malformed")
    async with webhook_bot(services, api, engine) as client:
        statuses = {
            what: (await client.post(PATH, content=body, headers=RIGHT)).status_code
            for what, body in NOT_UPDATES.items()
        }
        assert statuses == dict.fromkeys(NOT_UPDATES, 400)
        # A huge body that does not say its length is cut off too.
        response = await client.post(PATH, content=endless_chunks(), headers=RIGHT)
        assert response.status_code == 400
        # The server carries on.
        response = await client.post(PATH, json=message_update(1, ALICE, "/start"), headers=RIGHT)
        assert response.status_code == 200
        await eventually(lambda: api.received(ALICE.id, "Hello, Alice!") == 1)
    assert [request.chat_id for request in api.sent("sendMessage")] == [ALICE.id]
    assert await received_count(engine) == 1
    malformed = sample("bot_webhook_requests_refused_total", reason="malformed")
    assert malformed == refused + len(NOT_UPDATES) + 1


async def test_an_update_sent_to_two_processes_is_handled_once(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """Telegram retrying an update, the balancer sending the retry to another process."""
    async with (
        webhook_bot(services, api, engine, "one") as one,
        webhook_bot(services, api, engine, "two") as two,
    ):
        update = message_update(41, ALICE, "/reserve 1")
        answers = await asyncio.gather(
            *(client.post(PATH, json=update, headers=RIGHT) for client in (one, two, one, two))
        )
        assert [answer.status_code for answer in answers] == [200] * 4
        await eventually(lambda: len(api.sent("sendMessage", ALICE.id)) >= 1)
        # Another update from the same reader, after: it is handled, and only once.
        await one.post(PATH, json=message_update(42, ALICE, "/start"), headers=RIGHT)
        await two.post(PATH, json=message_update(42, ALICE, "/start"), headers=RIGHT)
        await eventually(lambda: api.received(ALICE.id, "Hello, Alice!") == 1)
        await asyncio.sleep(0.3)
    assert len(api.sent("sendMessage", ALICE.id)) == 2


async def test_the_webhook_is_registered_with_the_secret_and_the_update_types(
    services: Services, api: FakeBotApi
) -> None:
    application: BotApplication = bot_application(services, api)
    async with application:
        registration = WebhookRegistration(application.bot, WEBHOOK.url, SECRET, ALLOWED_UPDATES)
        await registration.register()
        await registration.stop()
    [call] = api.sent("setWebhook")
    assert call.params["url"] == WEBHOOK.url
    assert call.params["secret_token"] == SECRET
    assert set(call.params["allowed_updates"]) == {
        "message",
        "callback_query",
        "my_chat_member",
        "inline_query",
    }


@dataclass
class RefusingWebhook(FakeBotApi):
    """Telegram answering the first setWebhook with a 429 (retry after one second)."""

    refused: int = 0

    def answer(
        self, method: str, params: dict[str, Any], via: str = ""
    ) -> tuple[int, dict[str, Any]]:
        if method != "setWebhook" or self.refused:
            return super().answer(method, params, via)
        self.refused += 1
        self.requests.append(SentRequest(method, params, None, 429, time.monotonic(), via))
        body = {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
        return 429, body


async def test_a_refused_webhook_registration_is_retried_in_the_background(
    services: Services,
) -> None:
    api = RefusingWebhook()
    application: BotApplication = bot_application(services, api)
    async with application:
        registration = WebhookRegistration(application.bot, WEBHOOK.url, SECRET, ALLOWED_UPDATES)
        await registration.register()  # returns at once: the bot goes on serving
        assert [call.error_code for call in api.sent("setWebhook")] == [429]
        await eventually(lambda: len(api.sent("setWebhook")) == 2, within=5)
        await registration.stop()
    assert [call.error_code for call in api.sent("setWebhook")] == [429, None]


async def test_received_updates_are_forgotten_after_telegram_stops_retrying(
    engine: AsyncEngine,
) -> None:
    received = ReceivedUpdates(create_session_factory(engine))
    assert await received.first_time(1)
    assert await received.first_time(2)
    assert not await received.first_time(1)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE webhook_updates SET received_at = now() - interval '26 hours' "
                "WHERE update_id = 1"
            )
        )
    assert await received.prune() == 1
    assert await received.first_time(1)  # older than any retry: new again
    assert not await received.first_time(2)


async def test_with_the_database_down_an_update_counts_as_new() -> None:
    """Its handler then meets the outage and says so, rather than leave the reader
    unanswered."""
    nowhere = create_engine("postgresql://postgres@127.0.0.1:9/none")
    try:
        received = ReceivedUpdates(create_session_factory(nowhere))
        assert await received.first_time(1)
    finally:
        await nowhere.dispose()
