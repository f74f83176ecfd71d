"""Place updates go last: a claim takes every other due message first (hold offers and
reminders, back in stock, withdrawal notices), and place updates only with the room left
in its batch. A cancellation at the front of a long line queues thousands of them, and a
copy set aside must not wait behind them."""

import asyncio
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from tests.chat import ADMIN
from tests.conftest import bot_application, running
from tests.db import add_books, outbox_settled, rows
from tests.fake_telegram import FakeBotApi
from tests.readers import ALICE
from tests.test_hold_conversations import OFFER

BACKLOG = 200
FIRST_READER = 5000
# 20 a second with the tests' 2 s lease: batches of 10 (half a second of sending).
MESSAGES_PER_SECOND = 20
BATCH = 10
LEASE = timedelta(seconds=30)


async def plant_place_updates(engine: AsyncEngine, book_id: int, count: int) -> None:
    """count readers waiting for the book, each with a place update due a minute ago:
    the backlog a cancellation at the front of a long line leaves."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, first_name) "
                "SELECT :first + n, :first + n, 'Reader ' || n FROM generate_series(1, :count) n"
            ),
            {"first": FIRST_READER, "count": count},
        )
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (user_id, book_id) "
                "SELECT id, :book FROM users WHERE telegram_id > :first ORDER BY id"
            ),
            {"book": book_id, "first": FIRST_READER},
        )
        await connection.execute(
            text(
                "INSERT INTO notifications (pre_booking_id, chat_id, kind, text, next_attempt_at) "
                "SELECT p.id, u.chat_id, 'place_update', 'You moved up', "
                "now() - interval '1 minute' "
                "FROM pre_bookings p JOIN users u ON u.id = p.user_id "
                "WHERE u.telegram_id > :first ORDER BY p.id"
            ),
            {"first": FIRST_READER},
        )


async def offer_behind_a_backlog(services: Services, engine: AsyncEngine) -> None:
    """Alice first in line for Dune, 200 readers behind her with place updates due, then
    a copy set aside for her: her offer is queued after all of them."""
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(ALICE, book.id)
    await plant_place_updates(engine, book.id, BACKLOG)
    await services.restocks.restock(ADMIN.id, book.id, 1)


async def test_a_hold_offer_goes_out_in_the_first_batch_not_after_the_place_updates(
    hold_services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    await offer_behind_a_backlog(hold_services, engine)

    application = bot_application(hold_services, api, messages_per_second=MESSAGES_PER_SECOND)
    async with running(application), asyncio.timeout(20):
        # Three batches' worth is enough to tell: oldest first, the offer would be 201st.
        while not api.texts_to(ALICE.chat_id) and len(api.sent("sendMessage")) < 3 * BATCH:
            await asyncio.sleep(0.02)

    recipients = [request.chat_id for request in api.sent("sendMessage")]
    assert ALICE.chat_id in recipients[:BATCH], recipients[: 3 * BATCH]
    assert OFFER in api.texts_to(ALICE.chat_id)[0]


async def test_place_updates_all_go_out_when_nothing_else_is_due(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    await plant_place_updates(engine, book.id, BACKLOG)

    async with running(bot_application(services, api)):
        await outbox_settled(engine)

    readers = range(FIRST_READER + 1, FIRST_READER + BACKLOG + 1)
    assert [api.texts_to(reader) for reader in readers] == [["You moved up"]] * BACKLOG
    assert await rows(engine, "SELECT DISTINCT status::text FROM notifications") == [("sent",)]


async def test_a_claim_full_of_other_messages_takes_no_place_update(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await offer_behind_a_backlog(hold_services, engine)

    claimed = await hold_services.outbox.claim(1, LEASE)
    [offer] = claimed.deliveries
    assert offer.chat_id == ALICE.chat_id
    assert claimed.dealt_with == 1
    # The next claim takes the place updates, oldest first, as many as it has room for.
    claimed = await hold_services.outbox.claim(BATCH, LEASE)
    assert [delivery.chat_id for delivery in claimed.deliveries] == list(
        range(FIRST_READER + 1, FIRST_READER + BATCH + 1)
    )
