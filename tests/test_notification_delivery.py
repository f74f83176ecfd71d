"""Back-in-stock messages: written in the restock's commit, delivered by the dispatcher
within Telegram's limits, never lost, not sent twice."""

import asyncio
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.tuning import DispatcherTuning
from bot.playground.flood_control import FloodLimits
from bot.restocks.schemas import Restock
from bot.services import Services
from bot.telegram.application import dispatcher
from bot.users.schemas import Reader
from tests.chat import ADMIN, Chat, Person
from tests.conftest import bot_application, running
from tests.db import add_books, failing_trigger, outbox_settled, rows
from tests.fake_telegram import FakeBotApi

GOOD_NEWS = "Good news"


async def waiting_readers(services: Services, count: int, book_id: int = 1) -> list[Person]:
    readers = [Person(5000 + n, f"Reader {n}") for n in range(count)]
    for person in readers:
        await services.reservations.reserve(Reader(person.id, person.id), book_id)
    return readers


async def test_restock_writes_the_outbox_in_its_commit(
    services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 3)
    await services.reservations.cancel(Reader(readers[1].id, readers[1].id), 2)
    restock = await services.restocks.restock(ADMIN.id, 1, 4)
    assert isinstance(restock, Restock)
    assert restock.notified == 2
    queued = await rows(
        engine,
        "SELECT n.chat_id, n.status::text, n.attempts, p.status::text, r.old_stock, r.new_stock "
        "FROM notifications n JOIN pre_bookings p ON p.id = n.pre_booking_id "
        "JOIN restocks r ON r.id = n.restock_id ORDER BY n.id",
    )
    assert queued == [
        (readers[0].id, "pending", 0, "notified", 0, 4),
        (readers[2].id, "pending", 0, "notified", 0, 4),
    ]
    # The text once, on the restock; the rows point to it.
    assert await rows(engine, "SELECT DISTINCT text FROM notifications") == [(None,)]
    [(text,)] = await rows(engine, "SELECT message FROM restocks WHERE message IS NOT NULL")
    assert text.startswith("📚 Good news: <b>Dune</b> by Frank Herbert is back in stock!")


async def test_each_waiting_reader_gets_exactly_one_message(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 25)
    await chat.send(ADMIN, "/restock 1 3")
    await chat.deliveries_done()
    assert [chat.api.received(person.id, GOOD_NEWS) for person in readers] == [1] * 25
    assert await rows(
        engine,
        "SELECT status::text, count(*), bool_and(sent_at IS NOT NULL) "
        "FROM notifications GROUP BY 1",
    ) == [("sent", 25, True)]


async def test_blocked_reader_fails_without_stopping_the_others(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    blocked, *others = await waiting_readers(services, 4)
    chat.api.failing_chats[blocked.id] = 403
    await chat.send(ADMIN, "/restock 1 3")
    await chat.deliveries_done()
    assert [chat.api.received(person.id, GOOD_NEWS) for person in others] == [1, 1, 1]
    assert len(chat.api.sent("sendMessage", blocked.id)) == 1  # tried once, never again
    assert await rows(
        engine,
        "SELECT n.status::text, n.attempts, n.last_error, u.unreachable_at IS NOT NULL "
        "FROM notifications n JOIN users u ON u.chat_id = n.chat_id WHERE n.chat_id = :chat",
        chat=blocked.id,
    ) == [("failed", 1, "Forbidden: bot was blocked by the user", True)]

    report = await chat.send_one(ADMIN, "/deliveries 1")
    assert "✅ sent: 3\n⏳ pending: 0\n❌ failed: 1" in report.text

    # Writing to the bot again makes the reader reachable again.
    chat.api.failing_chats.clear()
    await chat.send_one(blocked, "/start")
    assert await rows(
        engine, "SELECT unreachable_at FROM users WHERE telegram_id = :id", id=blocked.id
    ) == [(None,)]


async def test_flood_control_is_honoured_and_the_message_arrives(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    first, flooded, last = await waiting_readers(services, 3)
    chat.api.flood_once[flooded.id] = 1
    await chat.send(ADMIN, "/restock 1 3")
    await outbox_settled(engine)
    attempts = [r for r in chat.api.sent("sendMessage", flooded.id) if GOOD_NEWS in r.text]
    assert [attempt.error_code for attempt in attempts] == [429, None]
    assert attempts[1].at - attempts[0].at >= 1.0  # waited retry_after
    assert [chat.api.received(p.id, GOOD_NEWS) for p in (first, flooded, last)] == [1, 1, 1]
    # A 429 is not the reader's fault: it doesn't use up an attempt.
    assert await rows(
        engine, "SELECT attempts FROM notifications WHERE chat_id = :chat", chat=flooded.id
    ) == [(1,)]


async def test_network_errors_are_retried_until_delivered(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """More dropped connections than the five attempts the dispatcher once allowed: a
    network error is Telegram's trouble, never counted against the message."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    [reader] = await waiting_readers(services, 1)
    chat.api.network_failures[reader.id] = 7
    await chat.send(ADMIN, "/restock 1 3")
    await outbox_settled(engine)
    assert chat.api.received(reader.id, GOOD_NEWS) == 1
    assert len(chat.api.sent("sendMessage", reader.id)) == 8
    assert await rows(engine, "SELECT status::text, attempts FROM notifications") == [("sent", 1)]


async def test_flood_limits_of_a_strict_telegram_are_kept(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """At the default pace, a fake enforcing 30/s overall and 1/s per chat never says 429."""
    api.limits = FloodLimits(per_second=30, per_chat_per_second=1)
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 45)
    async with running(bot_application(services, api, messages_per_second=29)) as application:
        chat = Chat(application, api)
        started = time.monotonic()
        await chat.send(ADMIN, "/restock 1 3")
        await outbox_settled(engine)
        elapsed = time.monotonic() - started
    assert not [r for r in api.requests if r.error_code == 429]
    assert [api.received(person.id, GOOD_NEWS) for person in readers] == [1] * 45
    assert elapsed >= 45 / 30


async def test_too_fast_a_pace_is_slowed_by_429s_and_loses_nothing(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    api.limits = FloodLimits(per_second=30, per_chat_per_second=1)
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 40)
    async with running(bot_application(services, api, messages_per_second=200)) as application:
        await Chat(application, api).send(ADMIN, "/restock 1 3")
        await outbox_settled(engine)
    assert [r for r in api.requests if r.error_code == 429]
    assert [api.received(person.id, GOOD_NEWS) for person in readers] == [1] * 40


async def test_one_reader_waiting_for_two_books_gets_them_a_second_apart(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    [reader] = await waiting_readers(services, 1, book_id=1)
    await services.reservations.reserve(Reader(reader.id, reader.id), 2)
    await chat.send(ADMIN, "/restock 1 1")
    await chat.send(ADMIN, "/restock 2 1")
    await outbox_settled(engine)
    arrivals = [
        r.at
        for r in chat.api.sent("sendMessage", reader.id)
        if GOOD_NEWS in r.text and r.error_code is None
    ]
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 1.0


async def test_replies_stay_fast_while_a_broadcast_runs(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await waiting_readers(services, 30)
    async with running(bot_application(services, api, messages_per_second=10)) as application:
        chat = Chat(application, api)
        await chat.send(ADMIN, "/restock 1 3")
        await asyncio.sleep(0.5)  # the broadcast (three seconds at 10/s) is under way
        started = time.monotonic()
        # Broadcast messages go out meanwhile too: pick the reply.
        [reply] = [r for r in await chat.send(Person(42, "Zoe"), "/help") if r.chat_id == 42]
        took = time.monotonic() - started
        assert "What I can do" in reply.text
        assert await rows(engine, "SELECT 1 FROM notifications WHERE status = 'pending'")
        await outbox_settled(engine)
    # Queued behind the broadcast's sends, it would wait 0.8 s or more.
    assert took < 0.5


async def test_a_cut_off_dispatcher_is_taken_over_without_losing_or_repeating(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """Cancelled mid-broadcast (zero grace, as in a crash), then a new dispatcher finishes."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 40)
    async with running(bot_application(services, api, messages_per_second=20)) as first:
        await Chat(first, api).send(ADMIN, "/restock 1 3")
        await asyncio.sleep(0.6)
        await dispatcher(first).stop(grace_seconds=0)
    delivered_by_first = sum(api.received(person.id, GOOD_NEWS) for person in readers)
    assert 0 < delivered_by_first < 40
    async with running(bot_application(services, api, messages_per_second=50)):
        await outbox_settled(engine)
    received = [api.received(person.id, GOOD_NEWS) for person in readers]
    assert min(received) == 1, "a reader was never messaged"
    # Only a send cut off between Telegram's answer and its commit can repeat.
    assert sum(received) - len(readers) <= DispatcherTuning().max_in_flight


async def test_two_dispatchers_share_a_broadcast_without_repeating(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 60)
    async with (
        running(bot_application(services, api, messages_per_second=10, name="one")) as one,
        running(bot_application(services, api, messages_per_second=10, name="two")),
    ):
        await Chat(one, api).send(ADMIN, "/restock 1 3")
        await outbox_settled(engine)
    assert [api.received(person.id, GOOD_NEWS) for person in readers] == [1] * 60
    senders = {r.via for r in api.sent("sendMessage") if GOOD_NEWS in r.text}
    assert senders == {"one", "two"}


async def test_deliveries_command(chat: Chat, services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await waiting_readers(services, 2)
    none_yet = await chat.send_one(ADMIN, "/deliveries 2")
    assert none_yet.text == "No restock of #2 <b>Emma</b> by Jane Austen has notified anyone yet."
    await chat.send(ADMIN, "/restock 1 3")
    await chat.deliveries_done()
    report = await chat.send_one(ADMIN, "/deliveries 1")
    assert report.text.startswith("Messages about #1 <b>Dune</b> by Frank Herbert since its")
    assert "<b>📚 Back in stock</b>\n✅ sent: 2\n⏳ pending: 0\n❌ failed: 0" in report.text
    refused = await chat.send_one(Person(77, "Eve"), "/deliveries 1")
    assert refused.text == "Sorry, only the bookstore's staff can do that."
    unknown = await chat.send_one(ADMIN, "/deliveries 99")
    assert unknown.text.startswith("There is no book #99.")


async def test_a_429_longer_than_the_lease_sends_nothing_twice_across_processes(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """Found in review: sends waiting out a long 429 held rows past their lease, and the
    other process sent them too. Now a send not started in time is given back."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 30)
    api.flood_once[readers[0].id] = 3  # longer than the tests' 2 s lease
    async with running(bot_application(services, api, messages_per_second=10, name="one")) as one:
        await Chat(one, api).send(ADMIN, "/restock 1 3")
        await asyncio.sleep(0.3)
        async with running(bot_application(services, api, messages_per_second=10, name="two")):
            await outbox_settled(engine)
    assert [api.received(person.id, GOOD_NEWS) for person in readers] == [1] * 30


async def test_a_database_hiccup_while_recording_sends_nothing_twice(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """Found in review: a failed 'sent' write left the row to be sent again after its
    lease. Now the write is retried while the claim lasts."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = await waiting_readers(services, 10)
    async with failing_trigger(
        engine, "notifications", "BEFORE UPDATE", "database hiccup", "NEW.status = 'sent'"
    ):
        await chat.send(ADMIN, "/restock 1 3")
        await asyncio.sleep(0.5)
    await outbox_settled(engine)
    assert [chat.api.received(person.id, GOOD_NEWS) for person in readers] == [1] * 10
    assert await rows(engine, "SELECT DISTINCT status::text FROM notifications") == [("sent",)]


@pytest.mark.parametrize("code", [500, 404])
async def test_one_chats_odd_error_fails_nothing_and_holds_up_nobody(
    chat: Chat, services: Services, engine: AsyncEngine, code: int
) -> None:
    """A 5xx or a 404 (a bare TelegramError in PTB) is not a refusal of this chat: the
    message waits, not failed, while everyone else gets theirs, and goes out later."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    odd, *others = await waiting_readers(services, 6)
    chat.api.failing_chats[odd.id] = code
    await chat.send(ADMIN, "/restock 1 3")
    async with asyncio.timeout(10):
        while [chat.api.received(person.id, GOOD_NEWS) for person in others] != [1] * 5:
            await asyncio.sleep(0.01)
    # Still pending (its attempts may read 1 while a probe has it claimed).
    assert await rows(
        engine, "SELECT status::text FROM notifications WHERE chat_id = :id", id=odd.id
    ) == [("pending",)]
    chat.api.failing_chats.clear()
    await outbox_settled(engine)
    assert chat.api.received(odd.id, GOOD_NEWS) == 1
    # Only the claim that sent it counts: the refused tries were given back uncounted.
    assert await rows(
        engine, "SELECT attempts FROM notifications WHERE chat_id = :id", id=odd.id
    ) == [(1,)]
    assert await rows(engine, "SELECT DISTINCT status::text FROM notifications") == [("sent",)]
