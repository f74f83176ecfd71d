"""PAID_BROADCAST: back-in-stock messages at up to 1000 a second, paid; replies as before."""

import logging
import re
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.playground.flood_control import FloodLimits
from bot.services import Services
from bot.users.schemas import Reader
from tests.chat import ADMIN, Chat, Person
from tests.conftest import FAST, bot_application, running
from tests.db import add_books
from tests.fake_telegram import FakeBotApi

GOOD_NEWS = "Good news"
# A claim's batch (2 s of sending) done well within its lease, as by default.
PAID = replace(FAST, paid_broadcast=True, lease=timedelta(seconds=30))


async def test_paid_broadcast_goes_past_the_free_limit_and_is_logged(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi(limits=FloodLimits(per_second=30, per_chat_per_second=1))
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = [Person(5000 + n, f"Reader {n}") for n in range(300)]
    for person in readers:
        await services.reservations.reserve(Reader(person.id, person.id), 1)
    api.flood_once[readers[10].id] = 1  # Telegram may still say "too many": honoured
    caplog.set_level(logging.INFO, "bot.delivery.paid_mode")
    async with running(bot_application(services, api, 29, tuning=PAID)) as application:
        chat = Chat(application, api)
        started = time.monotonic()
        [reply] = await chat.send(ADMIN, "/restock 1 3")
        await chat.deliveries_done()
        took = time.monotonic() - started
        await application.bot_data["dispatcher"].stop()
    assert [api.received(person.id, GOOD_NEWS) for person in readers] == [1] * len(readers)
    news = [r for r in api.sent("sendMessage") if GOOD_NEWS in r.text]
    assert all(r.params.get("allow_paid_broadcast") is True for r in news)
    assert "allow_paid_broadcast" not in reply.params
    # At the free limit 300 would take 10 s (and the 429's pause 1 more); a quiet
    # machine takes about 2, a loaded one up to 7.
    assert took < 10, took
    assert [r.chat_id for r in api.requests if r.error_code == 429] == [readers[10].id]
    logged = re.findall(r"Sent (\d+) notifications as paid broadcasts", caplog.text)
    assert sum(int(count) for count in logged) == len(readers)
