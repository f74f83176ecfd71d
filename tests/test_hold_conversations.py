"""Readers and staff under RESTOCK_POLICY=hold_in_line, through real Updates; and the
shop's time zone under notify_all."""

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.holds.policy import HoldPolicy
from bot.playground.local_bot_api import SentRequest
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat
from tests.conftest import bot_application, running
from tests.db import add_books, rows
from tests.fake_telegram import FakeBotApi

OFFER = "📦 A copy of <b>Dune</b> by Frank Herbert is set aside for you until "


def offers_to(chat: Chat, person_id: int) -> list[SentRequest]:
    return [
        request
        for request in chat.api.sent("sendMessage", person_id)
        if request.text.startswith(OFFER)
    ]


async def staff_restock(chat: Chat, command: str) -> SentRequest:
    """The staff's reply to a restock; the offers it queued may go out meanwhile."""
    replies = await chat.send(ADMIN, command)
    [reply] = [request for request in replies if request.chat_id == ADMIN.id]
    return reply


async def until_sent(chat: Chat, person_id: int, start: str) -> str:
    """The first message to the person starting with start, waiting up to 10 s for it."""
    async with asyncio.timeout(10):
        while True:
            found = [t for t in chat.api.texts_to(person_id) if t.startswith(start)]
            if found:
                return found[0]
            await asyncio.sleep(0.02)


async def test_restock_sets_aside_copies_in_line_order(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB, CAROL):
        await hold_chat.send_one(reader, "/reserve 1")

    reply = await staff_restock(hold_chat, "/restock 1 2")
    await hold_chat.deliveries_done()

    assert reply.text == (
        "Stock of #1 <b>Dune</b> by Frank Herbert: 0 → 2. 2 copies set aside for the first "
        "2 of 3 readers in line; 1 still waiting."
    )
    [alices] = offers_to(hold_chat, ALICE.id)
    [(deadline,)] = await rows(engine, "SELECT hold_expires_at FROM pre_bookings WHERE id = 1")
    shown = deadline.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %d %b, %H:%M")
    assert alices.text == OFFER + f"{shown}. Show reservation #1 at the counter."
    assert [label for label, _ in alices.buttons] == ["Don't need it (#1)"]
    assert len(offers_to(hold_chat, BOB.id)) == 1
    assert offers_to(hold_chat, CAROL.id) == []

    carols = await hold_chat.send_one(CAROL, "/myreservations")
    assert "⏳ waiting since" in carols.text
    assert "· 1st in line" in carols.text
    alices_list = await hold_chat.send_one(ALICE, "/myreservations")
    assert f"kept for you until {shown}" in alices_list.text
    assert [label for label, _ in hold_chat.current_buttons(alices_list)] == ["Don't need it (#1)"]


async def test_dont_need_it_passes_the_copy_to_the_next_in_line(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB, CAROL):
        await hold_chat.send_one(reader, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()
    [offer] = offers_to(hold_chat, ALICE.id)

    pressed = await hold_chat.press(ALICE, "Don't need it", offer)
    await hold_chat.deliveries_done()

    assert pressed[0].method == "answerCallbackQuery"
    assert "✖️ cancelled on" in hold_chat.current(offer)["text"]
    assert len(offers_to(hold_chat, BOB.id)) == 1
    # Bob releases his with /cancel: Carol's turn.
    reply = await hold_chat.send_one(BOB, "/cancel 2")
    await hold_chat.deliveries_done()
    assert reply.text.startswith("Cancelled reservation #2")
    assert len(offers_to(hold_chat, CAROL.id)) == 1
    assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
        ("cancelled",),
        ("cancelled",),
        ("on_hold",),
    ]
    # A second press of the old button changes nothing.
    again = await hold_chat.press_data(ALICE, "c:1:1", hold_chat.current(offer))
    assert "can't be cancelled" in " ".join(r.text or str(r.params) for r in again)


async def test_staff_see_holds_collect_and_cannot_go_below_them(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB, CAROL):
        await hold_chat.send_one(reader, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 2")
    await hold_chat.deliveries_done()

    report = await hold_chat.send_one(ADMIN, "/holds 1")
    assert report.text.startswith(
        "<b>Holds</b> for #1 <b>Dune</b> by Frank Herbert: 2 on hold, 0 free, 1 waiting."
    )
    assert "#1 @alice until" in report.text
    assert "#2 @bob until" in report.text

    refused = await staff_restock(hold_chat, "/restock 1 1")
    assert "has 2 copies on hold (#1, #2)" in refused.text
    assert "Collect or release them first" in refused.text
    assert await rows(engine, "SELECT stock_quantity FROM books") == [(2,)]

    collected = await hold_chat.send_one(ADMIN, "/collected 1")
    assert collected.text == (
        "Reservation #1 collected: <b>Dune</b> by Frank Herbert now has 1 in stock."
    )
    again = await hold_chat.send_one(ADMIN, "/collected 1")
    assert again.text.startswith("Reservation #1 is not on hold (it is collected)")
    waiting = await hold_chat.send_one(ADMIN, "/collected 3")
    assert "is not on hold (it is waiting)" in waiting.text
    for bad in ("/collected", "/collected x", "/holds", "/holds 0"):
        answer = await hold_chat.send_one(ADMIN, bad)
        assert answer.text.startswith(("Usage:", "There is no book"))
    stranger = await hold_chat.send_one(ALICE, "/collected 2")
    assert stranger.text == "Sorry, only the bookstore's staff can do that."
    assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
        ("collected",),
        ("on_hold",),
        ("waiting",),
    ]


async def test_an_uncollected_copy_expires_and_goes_to_the_next_reader(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB):
        await hold_chat.send_one(reader, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 1")
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE pre_bookings SET hold_expires_at = now() WHERE id = 1")
        )

    expired = await until_sent(hold_chat, ALICE.id, "The copy of <b>Dune</b>")
    await until_sent(hold_chat, BOB.id, OFFER)

    assert "has gone to the next reader" in expired
    assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
        ("expired",),
        ("on_hold",),
    ]
    history = await hold_chat.send_one(ALICE, "/myreservations")
    assert "⌛ not collected in time" in history.text
    again = await hold_chat.send_one(ALICE, "/reserve 1")
    assert "you are first in line" in again.text


async def test_shop_time_zone_under_notify_all(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    berlin = build_services(
        engine,
        TelegramMessages(),
        Shop(
            frozenset({ADMIN.id}),
            HoldPolicy(pickup_window=timedelta(days=2)),
            ZoneInfo("America/New_York"),
        ),
    )
    await add_books(berlin, ("Dune", "Frank Herbert", 0))
    async with running(bot_application(berlin, api)) as application:
        chat = Chat(application, api)
        await chat.send_one(ALICE, "/reserve 1")
        listing = await chat.send_one(ALICE, "/myreservations")
        restock = await staff_restock(chat, "/restock 1 1")
    assert " EST" in listing.text or " EDT" in listing.text
    assert "Notified 1 waiting reader" in restock.text


async def test_a_book_whose_copies_are_all_held_can_be_reserved_from_the_catalog(
    hold_chat: Chat, hold_services: Services
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 3))
    await hold_chat.send_one(ALICE, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()

    catalog = await hold_chat.send_one(BOB, "/books")

    # Dune's one copy is Alice's: none free, so Bob may join the line; Emma is in stock.
    assert [label for label, _ in hold_chat.current_buttons(catalog)] == ["Reserve #1 Dune"]
    pressed = await hold_chat.press(BOB, "Reserve #1", catalog)
    assert any("you are first in line" in request.text for request in pressed)


async def test_deliveries_count_every_hold_message_by_kind(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB, CAROL):
        await hold_chat.send_one(reader, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()
    [offer] = offers_to(hold_chat, ALICE.id)
    await hold_chat.press(ALICE, "Don't need it", offer)  # Bob's offer: no restock's
    await until_sent(hold_chat, BOB.id, OFFER)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE pre_bookings SET hold_expires_at = now() WHERE id = 2")
        )
    await until_sent(hold_chat, BOB.id, "The copy of <b>Dune</b>")
    await until_sent(hold_chat, CAROL.id, OFFER)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET notified_at = now() - interval '2 days', "
                "hold_expires_at = now() + interval '1 hour' WHERE id = 3"
            )
        )
    await until_sent(hold_chat, CAROL.id, "⏰")
    await hold_chat.deliveries_done()

    report = await hold_chat.send_one(ADMIN, "/deliveries 1")
    assert report.text.startswith("Messages about #1 <b>Dune</b> by Frank Herbert since its")
    assert report.text.endswith(
        "\n\n<b>📦 Copies set aside</b>\n✅ sent: 3\n⏳ pending: 0\n❌ failed: 0"
        "\n\n<b>⏰ Pickup reminders</b>\n✅ sent: 1\n⏳ pending: 0\n❌ failed: 0"
        "\n\n<b>⌛ Holds not collected in time</b>\n✅ sent: 1\n⏳ pending: 0\n❌ failed: 0"
    )

    # A later restock starts the count again: only what came after it.
    await hold_chat.send_one(ADMIN, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 2")
    await hold_chat.deliveries_done()
    again = await hold_chat.send_one(ADMIN, "/deliveries 1")
    assert again.text.endswith(
        "\n\n<b>📦 Copies set aside</b>\n✅ sent: 1\n⏳ pending: 0\n❌ failed: 0"
    )


async def test_after_switching_to_notify_all_stock_still_cannot_go_below_the_holds(
    hold_chat: Chat, hold_services: Services, services: Services, engine: AsyncEngine
) -> None:
    """A copy held under hold_in_line stays held after the shop switches to notify_all:
    the stock may not go below it, and collecting it never fails."""
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_chat.send_one(ALICE, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()

    async with running(bot_application(services, hold_chat.api)) as notify_all:
        chat = Chat(notify_all, hold_chat.api)
        refused = await chat.send_one(ADMIN, "/restock 1 0")
        collected = await chat.send_one(ADMIN, "/collected 1")

    assert collected.text == (
        "Reservation #1 collected: <b>Dune</b> by Frank Herbert now has 0 in stock."
    )
    assert refused.text == (
        "<b>Dune</b> by Frank Herbert has 1 copy on hold (#1): the stock can't go below "
        "that. Collect or release them first (/collected, /holds)."
    )
    assert await rows(engine, "SELECT old_stock, new_stock FROM restocks ORDER BY id") == [
        (0, 1),
        (1, 0),
    ]


async def test_a_copy_held_beyond_the_stock_is_collected_without_a_failure(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    """A shop whose stock went below its holds under notify_all before the floor applied
    to both policies: the collection is recorded, the stock stays at 0."""
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_chat.send_one(ALICE, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE books SET stock_quantity = 0"))

    collected = await hold_chat.send_one(ADMIN, "/collected 1")

    assert collected.text == (
        "Reservation #1 collected: <b>Dune</b> by Frank Herbert now has 0 in stock."
    )
    assert await rows(engine, "SELECT status::text FROM pre_bookings") == [("collected",)]


async def test_after_switching_to_notify_all_a_free_copy_beside_held_ones_is_announced(
    hold_chat: Chat, hold_services: Services, services: Services, engine: AsyncEngine
) -> None:
    """Under notify_all a reader joins the line while every copy is held: the restock
    that brings the first free copy tells them; one that frees none, or adds to free
    copies already there, tells nobody."""
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_chat.send_one(ALICE, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()

    async with running(bot_application(services, hold_chat.api)) as notify_all:
        chat = Chat(notify_all, hold_chat.api)
        await chat.send_one(BOB, "/reserve 1")  # the one copy is Alice's: Bob waits
        await chat.send(ADMIN, "/restock 1 1")  # still none free
        await chat.send(ADMIN, "/restock 1 2")  # one free
        told = await until_sent(chat, BOB.id, "📚 Good news")
        await chat.send_one(CAROL, "/reserve 1")  # refused: a copy is free
        await chat.send(ADMIN, "/restock 1 3")  # free copies already there
        await chat.deliveries_done()

    assert told.startswith("📚 Good news: <b>Dune</b> by Frank Herbert is back in stock!")
    assert await rows(
        engine, "SELECT pre_booking_id, kind, status::text FROM notifications ORDER BY id"
    ) == [(1, "hold_offer", "sent"), (2, "back_in_stock", "sent")]
    assert await rows(engine, "SELECT id, status::text FROM pre_bookings ORDER BY id") == [
        (1, "on_hold"),
        (2, "notified"),
    ]
