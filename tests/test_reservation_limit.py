"""MAX_ACTIVE_RESERVATIONS: how many live reservations one reader may have at once."""

import asyncio
from contextlib import AsyncExitStack
from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, ALICE, BOB, Chat
from tests.conftest import HOLD_SHOP, bot_application, running
from tests.db import add_books, rows, snapshot
from tests.fake_telegram import FakeBotApi

LIMIT_REFUSAL = "You already have 3 reservations waiting or set aside"


def refusals_to(api: FakeBotApi, start: str) -> list[str]:
    """Refusals of ALICE's reserves: a button's as its toast, or as a message when the
    toast's moment passed (bot/telegram/handlers/buttons.py)."""
    # Only the toasts Telegram took: one it refused (the press answered already) was
    # told as a message instead.
    toasts = [
        r.params.get("text", "") for r in api.sent("answerCallbackQuery") if r.error_code is None
    ]
    return [t for t in toasts + api.texts_to(ALICE.id) if t.startswith(start)]


STAFF_ONLY = Shop(frozenset({ADMIN.id}))


def shop_with_limit(limit: int, shop: Shop = STAFF_ONLY) -> Shop:
    return replace(shop, max_active_reservations=limit)


async def test_the_reserve_over_the_limit_is_refused_and_writes_nothing(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    limited = build_services(engine, TelegramMessages(), shop_with_limit(3))
    await add_books(limited, *[(f"Book <{n}>", "Someone", 0) for n in range(1, 6)])
    async with running(bot_application(limited, api)) as application:
        chat = Chat(application, api)
        for book_id in (1, 2, 3):
            await chat.send_one(ALICE, f"/reserve {book_id}")
        catalog = await chat.send_one(ALICE, "/books")
        before = await snapshot(engine)

        refused = await chat.send_one(ALICE, "/reserve 4")
        await chat.press(ALICE, "Reserve #5", catalog)
        # Already waiting says so, rather than that the limit is reached.
        again = await chat.send_one(ALICE, "/reserve 1")
        after = await snapshot(engine)
        # The limit is each reader's: Bob is not refused.
        bobs = await chat.send_one(BOB, "/reserve 4")

    assert refused.text.startswith(LIMIT_REFUSAL), refused.text
    assert "/myreservations" in refused.text
    assert len(refusals_to(api, LIMIT_REFUSAL)) == 2  # the command's and the button's
    assert again.text.startswith("You are already waiting for <b>Book &lt;1&gt;</b>")
    assert after == before
    assert "Reserved <b>Book &lt;4&gt;</b>" in bobs.text


async def test_zero_means_no_limit(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    unlimited = build_services(engine, TelegramMessages(), shop_with_limit(0))
    await add_books(unlimited, *[(f"Book {n}", "Someone", 0) for n in range(1, 31)])
    async with running(bot_application(unlimited, api)) as application:
        chat = Chat(application, api)
        for book_id in range(1, 31):
            reply = await chat.send_one(ALICE, f"/reserve {book_id}")
            assert "Reserved" in reply.text, reply.text
    assert await rows(engine, "SELECT count(*) FROM pre_bookings WHERE status = 'waiting'") == [
        (30,)
    ]


def test_the_limit_is_25_by_default_and_reaches_the_services() -> None:
    assert Shop().max_active_reservations == 25
    assert Shop.from_settings(Settings(_env_file=None)).max_active_reservations == 25
    settings = Settings(_env_file=None, max_active_reservations=0)
    assert Shop.from_settings(settings).max_active_reservations == 0


async def test_held_copies_count_and_ended_reservations_do_not(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    limited = build_services(engine, TelegramMessages(), shop_with_limit(2, HOLD_SHOP))
    await add_books(limited, *[(f"Book {n}", "Someone", 0) for n in range(1, 8)])
    async with running(bot_application(limited, api)) as application:
        chat = Chat(application, api)
        await chat.send_one(ALICE, "/reserve 1")
        await chat.send_one(ALICE, "/reserve 2")
        await chat.send(ADMIN, "/restock 1 1")
        await chat.deliveries_done()  # the offer, so that the next reply comes alone
        assert await rows(engine, "SELECT status::text FROM pre_bookings WHERE id = 1") == [
            ("on_hold",)
        ]
        # A copy set aside still counts.
        held = await chat.send_one(ALICE, "/reserve 3")
        assert held.text.startswith("You already have 2 reservations"), held.text

        await chat.send(ADMIN, "/collected 1")
        collected = await chat.send_one(ALICE, "/reserve 3")
        await chat.send(ALICE, "/cancel 2")
        cancelled = await chat.send_one(ALICE, "/reserve 4")

        await chat.send(ADMIN, "/restock 3 1")
        await chat.deliveries_done()
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE pre_bookings SET hold_expires_at = now() WHERE book_id = 3")
            )
        expiry = "SELECT status::text FROM pre_bookings WHERE book_id = 3"
        async with asyncio.timeout(10):
            while await rows(engine, expiry) != [("expired",)]:
                await asyncio.sleep(0.02)
        await chat.deliveries_done()
        expired = await chat.send_one(ALICE, "/reserve 5")
        over = await chat.send_one(ALICE, "/reserve 6")

    for reply in (collected, cancelled, expired):
        assert "Reserved" in reply.text, reply.text
    assert over.text.startswith("You already have 2 reservations"), over.text
    assert await rows(engine, "SELECT book_id, status::text FROM pre_bookings ORDER BY id") == [
        (1, "collected"),
        (2, "cancelled"),
        (3, "expired"),
        (4, "waiting"),
        (5, "waiting"),
    ]


async def test_racing_presses_of_one_reader_stop_at_the_limit(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """20 Reserve presses of different books at once, through four bot processes (each
    takes one reader's updates in turn, so the race is between processes): 5 succeed."""
    limited = build_services(engine, TelegramMessages(), shop_with_limit(5))
    await add_books(limited, *[(f"Book {n}", "Someone", 0) for n in range(1, 21)])
    async with AsyncExitStack() as stack:
        chats = [
            Chat(await stack.enter_async_context(running(bot_application(limited, api))), api)
            for _ in range(4)
        ]
        catalog = await chats[0].send_one(ALICE, "/books")
        on = chats[0].current(catalog)
        await asyncio.gather(
            *(chats[book_id % 4].press_data(ALICE, f"r:{book_id}", on) for book_id in range(1, 21))
        )
    assert await rows(engine, "SELECT count(*) FROM pre_bookings WHERE status = 'waiting'") == [
        (5,)
    ]
    assert len(refusals_to(api, "You already have 5 reservations")) == 15


async def test_a_reservation_told_the_book_is_back_does_not_count(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Under notify_all the wait ends when the reader is told: the place is free again."""
    limited = build_services(engine, TelegramMessages(), shop_with_limit(1))
    await add_books(limited, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    async with running(bot_application(limited, api)) as application:
        chat = Chat(application, api)
        await chat.send_one(ALICE, "/reserve 1")
        await chat.send(ADMIN, "/restock 1 1")
        await chat.deliveries_done()
        emma = await chat.send_one(ALICE, "/reserve 2")
    assert "Reserved <b>Emma</b>" in emma.text, emma.text
    assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
        ("notified",),
        ("waiting",),
    ]
