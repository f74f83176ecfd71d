"""Many readers and staff at once, against the real database: the guarantees hold."""

import asyncio
import random

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services, build_services
from bot.telegram.texts import reservations
from bot.users.schemas import Reader
from tests.chat import ADMIN, Chat, Person
from tests.conftest import bot_application, running
from tests.db import add_books, outbox_settled, rows
from tests.fake_telegram import FakeBotApi

SECOND_ADMIN = Person(9002, "Sam", "sam_staff")
WAITING_FOR_A_BOOK_IN_STOCK = (
    "SELECT count(*) FROM pre_bookings p JOIN books b ON b.id = p.book_id "
    "WHERE p.status = 'waiting' AND b.stock_quantity > 0"
)


async def test_reserves_racing_restocks_leave_nobody_waiting_for_a_book_in_stock(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """300 readers reserve 3 books while staff flip their stock 0 → N → 0 → N …"""
    books = await add_books(services, *[(f"Book {n}", "Someone", 0) for n in range(3)])
    readers = [Person(20_000 + n, f"Reader {n}") for n in range(300)]
    generator = random.Random(4)
    violations: list[int] = []
    racing = True

    async def watch() -> None:
        # Any moment at which a waiting reservation sits on a book in stock is a bug.
        while racing:
            [(count,)] = await rows(engine, WAITING_FOR_A_BOOK_IN_STOCK)
            if count:
                violations.append(count)
            await asyncio.sleep(0)

    async def reserve(person: Person) -> None:
        await asyncio.sleep(generator.random() * 0.5)
        await chat.send(person, f"/reserve {generator.choice(books).id}")

    async def restock(book_id: int) -> None:
        for quantity in (4, 0, 2, 0, 7, 0, 1):
            await asyncio.sleep(generator.random() * 0.1)
            await chat.send(ADMIN, f"/restock {book_id} {quantity}")

    watcher = asyncio.create_task(watch())
    await asyncio.gather(
        *(reserve(person) for person in readers), *(restock(book.id) for book in books)
    )
    racing = False
    await watcher
    await outbox_settled(engine)

    assert violations == []
    assert await rows(engine, WAITING_FOR_A_BOOK_IN_STOCK) == [(0,)]
    # Every notified reservation has its message queued (the unique index allows no
    # second); no waiting one has any.
    assert (
        await rows(
            engine,
            "SELECT p.id FROM pre_bookings p LEFT JOIN notifications n ON n.pre_booking_id = p.id "
            "WHERE (p.status = 'notified') <> (n.id IS NOT NULL)",
        )
        == []
    )
    notified = await rows(
        engine,
        "SELECT u.chat_id, count(*) FROM pre_bookings p JOIN users u ON u.id = p.user_id "
        "WHERE p.status = 'notified' GROUP BY u.chat_id",
    )
    assert notified, "the race should have notified someone"
    for chat_id, count in notified:
        assert chat.api.received(chat_id, "Good news") == count
    # Each reservation was notified by a restock that took its book from 0 to N.
    assert await rows(
        engine,
        "SELECT count(*) FROM notifications n JOIN restocks r ON r.id = n.restock_id "
        "JOIN pre_bookings p ON p.id = n.pre_booking_id "
        "WHERE r.old_stock <> 0 OR r.new_stock = 0 OR r.book_id <> p.book_id",
    ) == [(0,)]


def callback_answers(chat: Chat) -> list[str]:
    return sorted(r.params.get("text", "") for r in chat.api.sent("answerCallbackQuery"))


async def test_double_tap_on_reserve_reserves_once(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    reader = Person(31, "Tapper")
    catalog = await chat.send_one(reader, "/books")
    await asyncio.gather(*(chat.press(reader, "Reserve #1", catalog) for _ in range(2)))
    answers = callback_answers(chat)
    assert answers[0] == "Reserved: number 1 in line"
    assert answers[1].startswith("You are already waiting for Dune by Frank Herbert.")
    assert await rows(engine, "SELECT count(*) FROM pre_bookings") == [(1,)]


async def test_double_tap_on_cancel_cancels_once(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    reader = Person(32, "Tapper")
    await chat.send_one(reader, "/reserve 1")
    listing = await chat.send_one(reader, "/myreservations")
    await asyncio.gather(*(chat.press(reader, "Cancel #1", listing) for _ in range(2)))
    assert callback_answers(chat) == [
        "Reservation #1 can't be cancelled: it is already cancelled.",
        "Reservation cancelled",
    ]
    assert await rows(engine, "SELECT status::text FROM pre_bookings") == [("cancelled",)]


async def test_two_admins_restocking_at_once_notify_once(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    staff = build_services(
        engine, frozenset({ADMIN.id, SECOND_ADMIN.id}), reservations.back_in_stock
    )
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = [Person(40_000 + n, f"Reader {n}") for n in range(20)]
    for person in readers:
        await services.reservations.reserve(Reader(person.id, person.id), 1)
    async with running(bot_application(staff, api)) as application:
        chat = Chat(application, api)
        await asyncio.gather(
            chat.send(ADMIN, "/restock 1 5"), chat.send(SECOND_ADMIN, "/restock 1 5")
        )
        await outbox_settled(engine)
    texts_ = sorted(
        api.texts_to(ADMIN.id) + api.texts_to(SECOND_ADMIN.id), key=lambda text: "Nobody" in text
    )
    assert len(texts_) == 2
    assert "0 → 5. Notified 20 waiting readers" in texts_[0]
    assert "5 → 5. Nobody to notify" in texts_[1]
    assert [api.received(person.id, "Good news") for person in readers] == [1] * 20
