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

from bot.database import create_engine
from bot.services import Services
from bot.telegram.application import ALLOWED_UPDATES
from bot.telegram.context import BotApplication
from bot.users.schemas import Reader
from bot.web.health import HEALTH_TIMEOUT_SECONDS
from bot.web.registration import WebhookRegistration
from bot.web.run import Webhook, webhook_server
from bot.web.server import WebServer, web_app
from tests.chat import ADMIN, ALICE, BOB, CAROL, message_update
from tests.conftest import TOKEN, bot_application, running
from tests.db import add_books, outbox_settled
from tests.fake_telegram import FakeBotApi, SentRequest

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
    assert set(call.params["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}


def body(response: httpx.Response) -> Any:
    return json.loads(response.content)


async def test_health_says_whether_the_database_answers(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    async with webhook_bot(services, api, engine) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert body(response) == {"status": "ok", "database": "ok"}


async def test_health_is_503_when_the_database_does_not_answer() -> None:
    nowhere = create_engine("postgresql://postgres@127.0.0.1:9/none?connect_timeout=10")
    try:
        async with serving(WebServer(web_app(nowhere), "127.0.0.1", 0)) as client:
            response = await client.get("/healthz")
            metrics = await client.get("/metrics")
    finally:
        await nowhere.dispose()
    assert response.status_code == 503
    assert response.elapsed.total_seconds() < HEALTH_TIMEOUT_SECONDS + 1
    assert body(response) == {"status": "unavailable", "database": "unreachable"}
    # Metrics still answer, with the database's figures unknown.
    assert metrics.status_code == 200
    assert 'bot_outbox_messages{status="pending"} NaN' in metrics.text


async def test_metrics_count_updates_messages_refusals_and_the_outbox(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(Reader(BOB.id, BOB.id), 1)
    await services.reservations.reserve(Reader(CAROL.id, CAROL.id), 1)
    api.failing_chats[CAROL.id] = 403  # Carol blocked the bot: her message fails
    before = {
        "messages": sample("bot_updates_handled_total", kind="message"),
        "replies": sample("bot_messages_sent_total", kind="reply"),
        "notifications": sample("bot_messages_sent_total", kind="notification"),
        "429s": sample("bot_telegram_flood_refusals_total", kind="reply"),
        "timed": sample("bot_update_handling_seconds_count", kind="message"),
        "refused": sample("bot_webhook_requests_refused_total", reason="secret"),
    }
    async with webhook_bot(services, api, engine) as client:
        api.flood_once[ALICE.id] = 1  # Alice's reply meets a 429, waits, and goes out
        await client.post(PATH, json=message_update(1, ALICE, "/start"), headers=RIGHT)
        await client.post(PATH, json=message_update(2, ADMIN, "/restock 1 2"), headers=RIGHT)
        await client.post(PATH, json=message_update(3, ALICE, "/start"))
        await eventually(lambda: api.received(BOB.id, "Good news") == 1)
        await eventually(lambda: api.received(ALICE.id, "Hello") == 1)
        await outbox_settled(engine)
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = {
        "messages": sample("bot_updates_handled_total", kind="message"),
        "replies": sample("bot_messages_sent_total", kind="reply"),
        "notifications": sample("bot_messages_sent_total", kind="notification"),
        "429s": sample("bot_telegram_flood_refusals_total", kind="reply"),
        "timed": sample("bot_update_handling_seconds_count", kind="message"),
        "refused": sample("bot_webhook_requests_refused_total", reason="secret"),
    }
    assert {key: after[key] - before[key] for key in before} == {
        "messages": 2,
        "replies": 2,
        "notifications": 1,
        "429s": 1,
        "timed": 2,
        "refused": 1,
    }
    assert 'bot_outbox_messages{status="pending"} 0.0' in response.text
    assert 'bot_outbox_messages{status="failed"} 1.0' in response.text
    assert "bot_holds_expiring 0.0" in response.text
    assert "bot_update_handling_seconds_bucket" in response.text
    assert TOKEN not in response.text


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
