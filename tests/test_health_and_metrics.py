"""/healthz and /metrics over HTTP, on the real web server and Application."""

import json
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.database import create_engine
from bot.services import Services
from bot.users.schemas import Reader
from bot.web.access import allowed_address
from bot.web.health import HEALTH_TIMEOUT_SECONDS
from bot.web.server import WebServer, web_app
from tests.chat import ADMIN, ALICE, BOB, CAROL, message_update
from tests.conftest import TOKEN
from tests.db import add_books, outbox_settled
from tests.fake_telegram import FakeBotApi
from tests.test_webhook import PATH, RIGHT, eventually, sample, serving, webhook_bot


@pytest.fixture(autouse=True)
async def no_updates_received(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE webhook_updates"))


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
    handled = before["messages"] + 2
    async with webhook_bot(services, api, engine) as client:
        api.flood_once[ALICE.id] = 1  # Alice's reply meets a 429, waits, and goes out
        await client.post(PATH, json=message_update(1, ALICE, "/start"), headers=RIGHT)
        await client.post(PATH, json=message_update(2, ADMIN, "/restock 1 2"), headers=RIGHT)
        await client.post(PATH, json=message_update(3, ALICE, "/start"))
        await eventually(lambda: api.received(BOB.id, "Good news") == 1)
        await eventually(lambda: api.received(ALICE.id, "Hello") == 1)
        await outbox_settled(engine)
        # An update is counted when its handler ends, a moment after its reply went out.
        await eventually(lambda: sample("bot_updates_handled_total", kind="message") >= handled)
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


# Networks without loopback: the tests' client, on 127.0.0.1, is outside them.
ELSEWHERE = (ip_network("10.0.0.0/8"), ip_network("fc00::/7"))


async def test_metrics_are_refused_to_clients_outside_the_allowed_networks(
    engine: AsyncEngine,
) -> None:
    async with serving(
        WebServer(web_app(engine, metrics_allow=ELSEWHERE), "127.0.0.1", 0)
    ) as client:
        metrics = await client.get("/metrics")
        health = await client.get("/healthz")
    assert metrics.status_code == 403
    assert "bot_" not in metrics.text
    # The outside learns "ok" and no more.
    assert health.status_code == 200
    assert body(health) == {"status": "ok"}


async def test_a_request_through_a_proxy_is_from_outside(engine: AsyncEngine) -> None:
    """A proxy on the same host connects from loopback; what it forwards is the outside's,
    and its X-Forwarded-For, which anyone can write, grants nothing."""
    proxied = [
        {"X-Forwarded-For": "127.0.0.1"},
        {"Forwarded": "for=10.1.2.3"},
        {"X-Real-IP": "::1"},
    ]
    async with serving(WebServer(web_app(engine), "127.0.0.1", 0)) as client:
        direct = await client.get("/metrics")
        metrics = [(await client.get("/metrics", headers=h)).status_code for h in proxied]
        health = [body(await client.get("/healthz", headers=h)) for h in proxied]
    assert direct.status_code == 200
    assert metrics == [403] * 3
    assert health == [{"status": "ok"}] * 3


async def test_a_health_check_from_outside_says_only_not_ok() -> None:
    nowhere = create_engine("postgresql://postgres@127.0.0.1:9/none?connect_timeout=10")
    try:
        app = web_app(nowhere, metrics_allow=ELSEWHERE)
        async with serving(WebServer(app, "127.0.0.1", 0)) as client:
            response = await client.get("/healthz")
    finally:
        await nowhere.dispose()
    assert response.status_code == 503
    assert body(response) == {"status": "unavailable"}


@pytest.mark.parametrize(
    ("client", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("10.20.30.40", True),
        ("192.168.1.5", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("fd12::1", True),
        ("::ffff:10.0.0.1", True),  # an IPv4 client of a dual-stack listener
        ("::ffff:8.8.8.8", False),
        ("203.0.113.9", False),
        ("2001:db8::1", False),
        ("not an address", False),
    ],
)
def test_by_default_loopback_and_private_networks_are_allowed(client: str, allowed: bool) -> None:
    assert allowed_address(client, Settings().metrics_allow) is allowed


async def test_metrics_count_obsolete_messages_apart_as_deliveries_does(
    services: Services, engine: AsyncEngine
) -> None:
    """An offer not sent because its hold ended is neither pending nor failed: /metrics
    shows it under its own status, as /deliveries does."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO notifications (pre_booking_id, chat_id, text, kind, status) "
                "VALUES (1, :chat, 'An offer', 'hold_offer', 'obsolete'), "
                "(2, :chat, 'An offer', 'hold_offer', 'obsolete'), "
                "(3, :chat, 'An offer', 'hold_offer', 'failed')"
            ),
            {"chat": ALICE.id},
        )
    async with serving(WebServer(web_app(engine), "127.0.0.1", 0)) as client:
        metrics = await client.get("/metrics")
    assert 'bot_outbox_messages{status="obsolete"} 2.0' in metrics.text
    assert 'bot_outbox_messages{status="failed"} 1.0' in metrics.text
    assert 'bot_outbox_messages{status="pending"} 0.0' in metrics.text
