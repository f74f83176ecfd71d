"""Special orders at their edges (issue 22, item 2, reviewed): the times readers and staff
see in the shop's time zone; a reader's list that fits one message whatever the staff's
reasons; a reader asking at the moment staff order the book."""

import asyncio
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import catalogs
from bot.services import Services
from bot.telegram.lengths import MESSAGE_LIMIT
from bot.telegram.texts.formatting import plain_length
from tests.chat import ADMIN, ALICE, BOB, Person
from tests.conftest import SHOP_ZONE
from tests.db import rows
from tests.fake_telegram import FakeBotApi
from tests.special_orders import everything, special_chat

BERLIN = ZoneInfo(SHOP_ZONE)
DAVE = Person(3004, "Dave", "dave")
ORDERED = (
    "📦 Good news: the shop has ordered <b>Emma</b> by Jane Austen, which you asked for "
    "(request #1). You are in line for it, in the order you asked: I'll message you when "
    "it arrives. See your place in /myreservations."
)


async def test_request_times_are_in_the_shops_time_zone(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api, zone=BERLIN) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        mine = await chat.send_one(ALICE, "/myreservations")
        listed = await chat.send_one(ADMIN, "/requests")
    [(asked,)] = await rows(engine, "SELECT created_at FROM book_request_readers")
    [(created,)] = await rows(engine, "SELECT created_at FROM book_requests")
    assert f"📮 asked on {catalogs.moment(asked.astimezone(BERLIN))}," in mine.text, mine.text
    assert f"👥 1 reader since {catalogs.moment(created.astimezone(BERLIN))}" in listed.text, (
        listed.text
    )


async def test_ten_declined_requests_with_long_reasons_fit_one_message(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Reasons of 200 characters outside the BMP (2 UTF-16 units each) and long titles:
    the reader's list still goes out, within Telegram's 4,096 units."""
    reason = "🚫" * 200
    async with special_chat(engine, api) as (chat, services, _metadata):
        for number in range(10):
            await chat.send_one(ALICE, f"/request Book {number} {'📕' * 240} | Author {'🖋' * 200}")
        for number in range(1, 11):
            await services.special_orders.decline(ADMIN.id, number, reason)
        await chat.deliveries_done()
        await services.books.add_book(ADMIN.id, "📗" * 255, "🖋" * 255, 0)
        await chat.send_one(ALICE, "/reserve 1")
        mine = await chat.send_one(ALICE, "/myreservations")
    assert mine.error_code is None, mine
    assert plain_length(mine.text) <= MESSAGE_LIMIT
    assert mine.text.startswith("<b>Your requests</b>\n\n#10 "), mine.text[:200]
    assert mine.text.count("📭 declined: 🚫") == 10
    assert "⏳ waiting since" in mine.text


async def test_a_reader_asking_while_staff_order_the_book_gets_its_card(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Dave asks for the book while /order of its request is under way (it waits, here,
    for Alice's row, held by another transaction): the request is ordered by the time he
    can join it, the book in the catalog. He gets its card, to reserve it, not a new
    request for a book the shop has just ordered."""
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        await chat.send_one(BOB, "/request Emma | Jane Austen")
        async with engine.connect() as blocker:
            await blocker.execute(
                text("SELECT 1 FROM users WHERE telegram_id = :id FOR UPDATE"), {"id": ALICE.id}
            )
            order = asyncio.create_task(chat.send(ADMIN, "/order 1"))
            await waiting_for_locks(engine, 1)
            dave = asyncio.create_task(chat.send(DAVE, "/request emma | JANE AUSTEN"))
            await waiting_for_locks(engine, 2)
            await blocker.rollback()
        await order
        [answer] = [
            reply
            for reply in await dave
            if reply.method == "sendMessage" and reply.params["chat_id"] == DAVE.id
        ]
        card = await chat.send_one(DAVE, "/book 1")
    assert answer.text == card.text
    assert "Reserve" in str(answer.buttons)
    assert await rows(engine, "SELECT id, status FROM book_requests") == [(1, "ordered")]
    assert await rows(engine, "SELECT count(*) FROM book_request_readers") == [(2,)]


async def waiting_for_locks(engine: AsyncEngine, count: int) -> None:
    """Until count sessions wait for a row lock."""
    async with asyncio.timeout(10):
        while (
            await rows(
                engine,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'",
            )
        )[0][0] < count:
            await asyncio.sleep(0.01)


async def test_an_order_follows_the_asking_order_not_the_readers_rows(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """The readers came to the bot in one order (their rows' ids) and asked in another;
    Alice took her request back and asked again, so she is last: the line is the asking
    order as it stands."""
    async with special_chat(engine, api) as (chat, _, _metadata):
        for person in (BOB, ALICE, DAVE):
            await chat.send_one(person, "/start")
        for person in (DAVE, ALICE, BOB):
            await chat.send_one(person, "/request Emma | Jane Austen")
        await chat.send_one(ALICE, "/unrequest 1")
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        await chat.send_one(ADMIN, "/order 1")
    assert await rows(engine, "SELECT telegram_id FROM users ORDER BY id") == [
        (BOB.id,),
        (ALICE.id,),
        (DAVE.id,),
    ]
    assert await rows(
        engine,
        "SELECT u.telegram_id FROM pre_bookings p JOIN users u ON u.id = p.user_id "
        "WHERE p.status = 'waiting' ORDER BY p.id",
    ) == [(DAVE.id,), (BOB.id,), (ALICE.id,)]


async def test_a_reader_withdrawing_during_an_order_waits_and_is_told_it_was_ordered(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Alice takes her request back while /order of it is under way (held, here, at
    Bob's row): her withdrawal waits for the request's row, then finds it ordered. No
    deadlock, and no reservation left behind for a request she withdrew."""
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        await chat.send_one(BOB, "/request Emma | Jane Austen")
        async with engine.connect() as blocker:
            await blocker.execute(
                text("SELECT 1 FROM users WHERE telegram_id = :id FOR UPDATE"), {"id": BOB.id}
            )
            order = asyncio.create_task(chat.send(ADMIN, "/order 1"))
            await waiting_for_locks(engine, 1)
            withdrawal = asyncio.create_task(chat.send(ALICE, "/unrequest 1"))
            await waiting_for_locks(engine, 2)
            await blocker.rollback()
        await order
        await withdrawal
        await chat.deliveries_done()
    # Her answer, then the news of the order (sent by the outbox meanwhile or after).
    assert sorted(api.texts_to(ALICE.id)[-2:]) == sorted(
        ["Request #1 was ordered already: nothing changed.", ORDERED]
    )
    assert await rows(
        engine,
        "SELECT r.withdrawn_at IS NULL, p.status::text FROM book_request_readers r "
        "JOIN pre_bookings p ON p.id = r.pre_booking_id ORDER BY r.id",
    ) == [(True, "waiting"), (True, "waiting")]


async def test_a_reader_at_the_limit_makes_the_shop_ask_no_metadata_service(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Refused for having ten open requests, a reader's ISBN costs no call to the
    metadata service (nor its wait), and leaves no cached answer: a reader can't make
    the shop query it book after book by asking for what they may not."""
    async with special_chat(engine, api) as (chat, _, metadata):
        for number in range(10):
            await chat.send_one(ALICE, f"/request Book {number} | Author")
        before = await everything(engine)
        refused = await chat.send_one(ALICE, "/request 0441013597")
        after = await everything(engine)
    assert refused.text == (
        "You have 10 open requests, as many as one may. Withdraw one in /myreservations first."
    )
    assert after == before
    assert metadata.requests == []
    assert await rows(engine, "SELECT count(*) FROM book_metadata") == [(0,)]
