"""Book cards: /book, /book_<id> links, t.me deep links (good and bad), each state."""

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat
from tests.conftest import SHOP_ZONE
from tests.db import add_books, rows, snapshot

LINK = "https://t.me/bookstore_test_bot?start=book_"


def reader(person_id: int) -> Reader:
    return Reader(person_id, person_id)


async def test_a_deep_link_opens_the_card_of_a_sold_out_book(
    chat: Chat, services: Services
) -> None:
    await add_books(services, ("Emma", "Jane Austen", 2), ("Dune", "Frank Herbert", 0))
    card = await chat.send_one(ALICE, "/start book_2")
    assert "#2 <b>Dune</b> by Frank Herbert" in card.text
    assert "❌ sold out · nobody waiting" in card.text
    assert "You are not waiting for this book." in card.text
    assert f"Share this book: {LINK}2" in card.text
    assert card.buttons == [("Reserve: tell me when it's back", "r:2")]

    await chat.press(ALICE, "Reserve", card)
    again = await chat.send_one(ALICE, "/book 2")
    assert "1 reader waiting" in again.text
    assert "⏳ You are first in line (since " in again.text
    assert [label for label, _ in again.buttons] == ["Cancel my reservation"]


async def test_the_card_says_the_readers_place_in_line(chat: Chat, services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(reader(BOB.id), 1)
    await services.reservations.reserve(reader(ALICE.id), 1)
    card = await chat.send_one(ALICE, "/book 1")
    assert "2 readers waiting" in card.text
    assert "You are number 2 in line" in card.text

    await chat.press(ALICE, "Cancel my reservation", card)
    after = await chat.send_one(ALICE, "/book 1")
    assert "1 reader waiting" in after.text
    assert "You are not waiting for this book." in after.text
    assert [label for label, _ in after.buttons] == ["Reserve: tell me when it's back"]


async def test_the_card_of_a_book_in_stock_has_no_button(chat: Chat, services: Services) -> None:
    await add_books(services, ("Emma", "Jane Austen", 3))
    card = await chat.send_one(ALICE, "/book 1")
    assert "✅ in stock: 3" in card.text
    assert card.buttons == []


async def test_the_card_says_when_the_reader_was_told(chat: Chat, services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(reader(ALICE.id), 1)
    await chat.send(ADMIN, "/restock 1 4")
    await chat.deliveries_done()
    card = await chat.send_one(ALICE, "/book 1")
    assert "✅ in stock: 4" in card.text
    assert "📬 I told you it is back on " in card.text
    assert card.buttons == []

    # Sold out again: the old news is no longer the reader's state; they may wait anew.
    await chat.send(ADMIN, "/restock 1 0")
    sold_out = await chat.send_one(ALICE, "/book 1")
    assert "You are not waiting for this book." in sold_out.text
    assert [label for label, _ in sold_out.buttons] == ["Reserve: tell me when it's back"]


async def test_catalog_entries_link_to_their_cards(chat: Chat, services: Services) -> None:
    await add_books(services, ("Emma", "Jane Austen", 2), ("Dune", "Frank Herbert", 0))
    catalog = await chat.send_one(ALICE, "/books")
    assert "❌ sold out · /book_2" in catalog.text
    assert "✅ in stock: 2 · /book_1" in catalog.text
    search = await chat.send_one(ALICE, "/search dune")
    assert "/book_2" in search.text

    card = await chat.send_one(ALICE, "/book_2")
    assert "#2 <b>Dune</b>" in card.text
    card = await chat.send_one(ALICE, "/book_2@bookstore_test_bot")
    assert "#2 <b>Dune</b>" in card.text


async def test_addbook_reply_carries_the_shareable_link(chat: Chat) -> None:
    reply = await chat.send_one(ADMIN, "/addbook Dune | Frank Herbert | 0")
    assert f"Share this book: {LINK}1" in reply.text


@pytest.mark.parametrize(
    "payload",
    [
        "book_x",
        "book_99999999",
        "book_",
        "book_-1",
        "book_0",
        "book_99999999999999999999",
        "book_1_2",
        "x" * 65,
        "b" * 64,
        "hello",
        "book_\uff11",  # a full-width digit
    ],
)
async def test_a_bad_deep_link_gets_a_welcome(
    chat: Chat, services: Services, engine: AsyncEngine, payload: str
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send(ALICE, "/start")
    before = await snapshot(engine)
    reply = await chat.send_one(ALICE, f"/start {payload}")
    assert "Hello, Alice!" in reply.text
    assert await snapshot(engine) == before


@pytest.mark.parametrize("text", ["/book", "/book x", "/book 99999999", "/book 1 2", "/book_0"])
async def test_bad_card_requests_get_a_clear_answer(
    chat: Chat, services: Services, text: str
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    reply = await chat.send_one(ALICE, text)
    assert any(
        words in reply.text
        for words in ("Usage: /book", "There is no book #99999999", "I don't know that command")
    ), reply.text


# Under RESTOCK_POLICY=hold_in_line (the shop's time in Berlin)


async def test_the_card_of_a_held_copy_says_until_when_and_lets_it_go(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    for person in (ALICE, BOB, CAROL):
        await hold_services.reservations.reserve(reader(person.id), 1)
    await hold_chat.send(ADMIN, "/restock 1 1")
    await hold_chat.deliveries_done()
    [(until,)] = await rows(engine, "SELECT hold_expires_at FROM pre_bookings WHERE id = 1")
    shown = until.astimezone(ZoneInfo(SHOP_ZONE)).strftime("%a %d %b, %H:%M")

    alices = await hold_chat.send_one(ALICE, "/book 1")
    assert "📦 all copies on hold · 2 readers waiting" in alices.text
    assert (
        f"📦 A copy is on hold for you until {shown}: show reservation #1 at the counter."
        in alices.text
    )
    assert alices.buttons == [("Don't need it (#1)", "c:1:1")]
    bobs = await hold_chat.send_one(BOB, "/book 1")
    assert "⏳ You are first in line" in bobs.text
    assert [label for label, _ in bobs.buttons] == ["Cancel my reservation"]

    # Don't need it, from the card: the copy goes to Bob, the next in line.
    pressed = await hold_chat.press(ALICE, "Don't need it", alices)
    await hold_chat.deliveries_done()
    assert pressed[0].method == "answerCallbackQuery"
    assert "✖️ cancelled on" in hold_chat.current(alices)["text"]
    assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
        ("cancelled",),
        ("on_hold",),
        ("waiting",),
    ]
    assert any(
        text.startswith("📦 A copy of <b>Dune</b>") for text in hold_chat.api.texts_to(BOB.id)
    )
    bobs = await hold_chat.send_one(BOB, "/book 1")
    assert "📦 A copy is on hold for you until " in bobs.text
    assert "1 reader waiting" in bobs.text
    carols = await hold_chat.send_one(CAROL, "/book 1")
    assert "⏳ You are first in line" in carols.text


async def test_a_reader_joins_the_line_from_the_card_when_all_copies_are_held(
    hold_chat: Chat, hold_services: Services
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_services.reservations.reserve(reader(ALICE.id), 1)
    await hold_services.reservations.reserve(reader(BOB.id), 1)
    await hold_chat.send(ADMIN, "/restock 1 2")
    await hold_chat.deliveries_done()

    card = await hold_chat.send_one(CAROL, "/book 1")
    assert "📦 all copies on hold · nobody waiting" in card.text
    assert "You are not waiting for this book." in card.text
    assert card.buttons == [("Reserve: join the line", "r:1")]

    pressed = await hold_chat.press(CAROL, "Reserve: join the line", card)
    assert any("you are first in line" in request.text for request in pressed)
    again = await hold_chat.send_one(CAROL, "/book 1")
    assert "1 reader waiting" in again.text
    assert "⏳ You are first in line" in again.text

    # A third copy: free, so it goes to Carol at once; a fourth is there to buy.
    await hold_chat.send(ADMIN, "/restock 1 4")
    await hold_chat.deliveries_done()
    carols = await hold_chat.send_one(CAROL, "/book 1")
    assert "✅ in stock: 1 · nobody waiting" in carols.text
    assert "📦 A copy is on hold for you until " in carols.text
    bobs_friend = await hold_chat.send_one(ADMIN, "/book 1")
    assert bobs_friend.buttons == []
