"""The expected wait (issue 21, item 4): on planted restock histories, the card, the reserve
confirmation and /myreservations say the day a copy is expected for the reader's place, and
say nothing where the history is too thin (docs/operators.md says how it is computed)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from bot.users.schemas import Reader
from tests.chat import ALICE, BOB, Chat, Person
from tests.conftest import SHOP_ZONE
from tests.db import add_books

# A stock that went up (brought copies) and sold out again the same day, as planted.
PLANT = text(
    "INSERT INTO restocks (book_id, old_stock, new_stock, admin_telegram_id, created_at) "
    "VALUES (:book_id, 0, :copies, 9001, :at), (:book_id, :copies, 0, 9001, :sold_out)"
)


async def plant(engine: AsyncEngine, book_id: int, *restocks: datetime, copies: int = 2) -> None:
    async with engine.begin() as connection:
        for at in restocks:
            await connection.execute(
                PLANT,
                {
                    "book_id": book_id,
                    "copies": copies,
                    "at": at,
                    "sold_out": at + timedelta(hours=1),
                },
            )


def last_restock() -> datetime:
    """Ten days ago at 23:30 UTC: the next day already in Berlin, the shop's zone."""
    return (datetime.now(UTC) - timedelta(days=10)).replace(hour=23, minute=30)


def day(when: date) -> str:
    """A day as the bot writes it in English (Babel's medium date): Dec 27, 2026."""
    return f"{when:%b} {when.day}, {when.year}"


async def queue_others(services: Services, book_id: int, count: int) -> None:
    for person_id in range(2001, 2001 + count):
        await services.reservations.reserve(Reader(person_id, person_id), book_id)


async def test_regular_restocks_give_the_day_for_places_1_and_5(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    last = last_restock()
    # Every 30 days, 2 copies: place 1 waits one restock, place 5 three.
    await plant(engine, 1, last - timedelta(days=60), last - timedelta(days=30), last)
    first = (last + timedelta(days=30)).date()
    fifth = (last + timedelta(days=90)).date()

    reply = await chat.send_one(BOB, "/reserve 1")
    assert "you are first in line" in reply.text
    assert f"📅 A copy is expected around {day(first)}." in reply.text
    await queue_others(services, 1, 3)
    reply = await chat.send_one(ALICE, "/reserve 1")
    assert "you are number 5 in line" in reply.text
    assert f"📅 A copy is expected around {day(fifth)}." in reply.text

    card = await chat.send_one(BOB, "/book 1")
    assert f"A copy is expected around {day(first)}." in card.text
    card = await chat.send_one(ALICE, "/book 1")
    assert "You are number 5 in line" in card.text
    assert f"A copy is expected around {day(fifth)}." in card.text

    listed = await chat.send_one(ALICE, "/myreservations")
    assert f" · 5th in line · expected around {day(fifth)}" in listed.text


async def test_overdue_restocks_count_as_missed(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    last = last_restock() - timedelta(days=90)
    # Every 30 days until 100 days ago: three restocks missed, the fourth is the next.
    await plant(engine, 1, last - timedelta(days=60), last - timedelta(days=30), last)
    reply = await chat.send_one(ALICE, "/reserve 1")
    assert f"expected around {day((last + timedelta(days=120)).date())}." in reply.text


async def test_no_estimate_without_an_honest_history(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(
        services,
        ("One restock", "A", 0),
        ("No restock", "B", 0),
        ("Old history", "C", 0),
        ("Long line", "D", 0),
        ("Same day", "E", 0),
    )
    now = datetime.now(UTC)
    await plant(engine, 1, now - timedelta(days=20))
    await plant(engine, 3, *(now - timedelta(days=days) for days in (430, 400, 370)))
    # Every 30 days, one copy: the 20th reader waits beyond a year.
    await plant(engine, 4, *(now - timedelta(days=days) for days in (70, 40, 10)), copies=1)
    await queue_others(services, 4, 19)
    # Two boxes hours apart are one restock.
    await plant(engine, 5, now - timedelta(days=20, hours=5), now - timedelta(days=20))
    for book_id in (1, 2, 3, 4, 5):
        reply = await chat.send_one(ALICE, f"/reserve {book_id}")
        assert "Reserved" in reply.text
        assert "expected" not in reply.text
        card = await chat.send_one(ALICE, f"/book {book_id}")
        assert "in line" in card.text
        assert "expected" not in card.text
    listed = await chat.send_one(ALICE, "/myreservations")
    assert "20th in line" in listed.text
    assert "expected" not in listed.text


async def test_the_day_is_the_shops(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    last = last_restock()
    await plant(engine, 1, last - timedelta(days=30), last)
    expected = (last + timedelta(days=30)).astimezone(ZoneInfo(SHOP_ZONE)).date()
    assert expected != (last + timedelta(days=30)).date()
    reply = await hold_chat.send_one(ALICE, "/reserve 1")
    assert f"expected around {day(expected)}." in reply.text
    listed = await hold_chat.send_one(ALICE, "/myreservations")
    assert f"1st in line · expected around {day(expected)}" in listed.text


async def test_the_day_is_in_the_readers_language(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    last = last_restock()
    await plant(engine, 1, last - timedelta(days=30), last)
    expected = (last + timedelta(days=30)).date()
    ivan = Person(3001, "Иван", "ivan", language_code="ru")
    reply = await chat.send_one(ivan, "/reserve 1")
    assert f"📅 Экземпляр ожидается около {expected.day} " in reply.text
    # Russian dates end with an abbreviation and its full stop: the sentence adds none.
    assert not reply.text.endswith("..")
    assert str(expected.year) in reply.text
    listed = await chat.send_one(ivan, "/myreservations")
    assert f"ожидается около {expected.day} " in listed.text


async def test_a_restock_taken_back_at_once_is_no_restock(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """Staff typing 20 for 2 and correcting it a minute later, or restocking the wrong book
    and undoing it, bring no copies: the estimate keeps the book's real rhythm, 2 copies
    every 60 days, and the copies sold an hour after each restock don't undo it."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    last = last_restock()
    changes = []
    for at, typed in ((last - timedelta(days=120), 2), (last - timedelta(days=60), 20), (last, 2)):
        changes += [(at, 0, typed)]
        if typed != 2:
            changes += [(at + timedelta(minutes=1), typed, 2)]
        changes += [(at + timedelta(hours=1), 2, 0)]
    for at in (last - timedelta(days=90), last - timedelta(days=30)):  # the wrong book
        changes += [(at, 0, 5), (at + timedelta(minutes=1), 5, 0)]
    async with engine.begin() as connection:
        for at, old, new in changes:
            await connection.execute(
                text(
                    "INSERT INTO restocks (book_id, old_stock, new_stock, admin_telegram_id,"
                    " created_at) VALUES (1, :old, :new, :admin, :at)"
                ),
                {"old": old, "new": new, "admin": 9001, "at": at},
            )
    await queue_others(services, 1, 4)
    reply = await chat.send_one(BOB, "/reserve 1")
    # Place 5 at 2 copies a restock: the third restock after the last, 60 days apart.
    assert f"around {day((last + timedelta(days=180)).date())}" in reply.text
