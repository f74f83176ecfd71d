"""Back-in-stock messages through incidents as they happen: Telegram down for much longer
than any retry schedule, slow sends with two bot processes, a stop during a 429 pause."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Literal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import SettingsError, load_settings
from bot.delivery.tuning import DispatcherTuning
from bot.services import Services
from tests.chat import ADMIN, Chat, Person
from tests.conftest import FAST, bot_application, running
from tests.db import add_books, outbox_settled, rows
from tests.fake_telegram import FakeBotApi
from tests.test_notification_delivery import GOOD_NEWS, waiting_readers

# Longer than the whole retry schedule the dispatcher once had (five attempts, at most
# one a second to a chat: a row failed after about 4 s), with room to spare; meanwhile
# the probe of Telegram backs off to at most FAST.max_probe_delay.
OUTAGE_SECONDS = 6.0


async def until(condition: Callable[[], bool], limit_seconds: float = 20.0) -> None:
    """Wait until condition() is true."""
    async with asyncio.timeout(limit_seconds):
        while not condition():
            await asyncio.sleep(0.01)


def delivered(api: FakeBotApi, readers: list[Person]) -> int:
    return sum(api.received(person.id, GOOD_NEWS) for person in readers)


@pytest.mark.parametrize("outage", ["502", "drop"])
async def test_a_long_telegram_outage_mid_broadcast_loses_nothing(
    services: Services, api: FakeBotApi, engine: AsyncEngine, outage: Literal["502", "drop"]
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 60)
    async with running(bot_application(services, api, messages_per_second=30)) as application:
        chat = Chat(application, api)
        await chat.send(ADMIN, "/restock 1 3")
        await until(lambda: delivered(api, readers) >= 20)
        api.down = outage
        down_since = time.monotonic()
        await asyncio.sleep(OUTAGE_SECONDS)
        assert delivered(api, readers) < 60
        # The staff can see why nothing moves; the reply itself can't get through
        # either, but it is what the bot tried to say.
        [report] = [
            r for r in await chat.send(ADMIN, "/deliveries 1") if "Messages about" in r.text
        ]
        assert "paused: Telegram unreachable since" in report.text
        calls_while_down = len([r for r in api.requests if r.at > down_since])
        api.down = None
        back = time.monotonic()
        await outbox_settled(engine)
        resumed = min(r.at for r in api.sent("sendMessage") if r.at > back)
        after = await chat.send_one(ADMIN, "/deliveries 1")
    assert [api.received(person.id, GOOD_NEWS) for person in readers] == [1] * 60
    # Not counted as attempts: a claim given back after a network error takes its back.
    assert await rows(
        engine, "SELECT status::text, count(*), max(attempts) FROM notifications GROUP BY 1"
    ) == [("sent", 60, 1)]
    # Probing with backoff, not hammering: a handful of calls a second at most.
    assert calls_while_down < OUTAGE_SECONDS * 10
    assert resumed - back <= FAST.max_probe_delay + 1.0
    assert "paused" not in after.text
    assert "✅ sent: 60\n⏳ pending: 0\n❌ failed: 0" in after.text


async def test_slow_sends_with_two_processes_send_nothing_twice(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """Each send takes 1.5 s and the lease is short: a send that would start after its
    claim's send_by (waiting for a slot) is given back instead."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 60)
    short_lease = replace(FAST, lease=timedelta(seconds=5))
    api.send_delay = 1.5
    async with (
        running(bot_application(services, api, name="one", tuning=short_lease)) as one,
        running(bot_application(services, api, name="two", tuning=short_lease)),
    ):
        await Chat(one, api).send(ADMIN, "/restock 1 3")
        await outbox_settled(engine, limit_seconds=60)
    assert [api.received(person.id, GOOD_NEWS) for person in readers] == [1] * 60


async def test_stopping_during_a_429_pause_gives_everything_back_at_once(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """With the default lease the broadcast's sends wait out a 12 s 429 pause in the
    pacer; a stop meanwhile hands them back, not counted, due when the pause ends."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 30)
    api.flood_once[readers[0].id] = 12
    default_lease = replace(FAST, lease=DispatcherTuning().lease)
    application = bot_application(services, api, messages_per_second=10, tuning=default_lease)
    async with running(application):
        await Chat(application, api).send(ADMIN, "/restock 1 3")
        await asyncio.sleep(1.0)
        stopping = time.monotonic()
    stopped_after = time.monotonic() - stopping
    sent = [p for p in readers if api.received(p.id, GOOD_NEWS)]
    assert sent == []
    assert stopped_after < 5.0  # well within the platform's 10 s (it took 10 s)
    waiting = await rows(
        engine,
        "SELECT status::text, attempts, "
        "extract(epoch FROM next_attempt_at - now()) < 12 FROM notifications",
    )
    assert waiting == [("pending", 0, True)] * 30


async def test_a_message_older_than_max_age_is_given_up_unsent(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """The only give-up: by age (NOTIFICATION_MAX_AGE, 3 days by default)."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    old, fresh = await waiting_readers(services, 2)
    await services.restocks.restock(ADMIN.id, 1, 3)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE notifications SET created_at = now() - interval '3 days 1 minute' "
                "WHERE chat_id = :id"
            ),
            {"id": old.id},
        )
    async with running(bot_application(services, api)):
        await outbox_settled(engine)
    assert api.sent("sendMessage", old.id) == []
    assert api.received(fresh.id, GOOD_NEWS) == 1
    assert await rows(
        engine, "SELECT chat_id, status::text, last_error FROM notifications ORDER BY chat_id"
    ) == [(old.id, "failed", "not delivered within 3 days"), (fresh.id, "sent", None)]


def test_max_age_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().notification_max_age == timedelta(days=3)
    monkeypatch.setenv("NOTIFICATION_MAX_AGE", "P1DT12H")
    assert load_settings().notification_max_age == timedelta(days=1, hours=12)
    monkeypatch.setenv("NOTIFICATION_MAX_AGE", "0")
    with pytest.raises(SettingsError, match="NOTIFICATION_MAX_AGE"):
        load_settings()
