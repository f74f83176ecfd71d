"""Readers who block the bot: known at once from my_chat_member, skipped without calling
Telegram, and given the back-in-stock message they missed, once, when they come back."""

import asyncio
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, Chat, Person, my_chat_member_update
from tests.db import add_books, failing_trigger, rows, snapshot

GOOD_NEWS = "Good news"


async def dune_awaited_by(services: Services, *people: Person) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    for person in people:
        await services.reservations.reserve(Reader(person.id, person.id), 1)


async def restock(chat: Chat, quantity: int) -> None:
    await chat.send_one(ADMIN, f"/restock 1 {quantity}")
    await chat.deliveries_done()


async def notification_of(engine: AsyncEngine, person: Person) -> list[tuple[object, ...]]:
    return await rows(
        engine,
        "SELECT status::text, attempts, last_error FROM notifications WHERE chat_id = :chat",
        chat=person.id,
    )


async def test_a_reader_who_blocked_the_bot_is_not_sent_to(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await dune_awaited_by(services, ALICE, BOB)
    assert await chat.block(ALICE) == []  # nothing to answer: they can't read it
    assert await rows(
        engine, "SELECT unreachable_at IS NOT NULL FROM users WHERE telegram_id = :id", id=ALICE.id
    ) == [(True,)]
    await restock(chat, 3)
    assert chat.api.sent("sendMessage", ALICE.id) == []  # Telegram was not even asked
    assert chat.api.received(BOB.id, GOOD_NEWS) == 1
    assert await notification_of(engine, ALICE) == [("failed", 0, "unreachable")]
    report = await chat.send_one(ADMIN, "/deliveries 1")
    assert "✅ sent: 1\n⏳ pending: 0\n❌ failed: 1" in report.text


async def test_unblocking_while_in_stock_brings_the_missed_message_once(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await dune_awaited_by(services, ALICE)
    await chat.block(ALICE)
    await restock(chat, 3)
    assert await chat.unblock(ALICE) == []
    await chat.deliveries_done()
    assert chat.api.received(ALICE.id, GOOD_NEWS) == 1
    assert await rows(
        engine, "SELECT unreachable_at FROM users WHERE telegram_id = :id", id=ALICE.id
    ) == [(None,)]

    # Unblocking again, or blocking and unblocking again, sends nothing more.
    await chat.unblock(ALICE)
    await chat.block(ALICE)
    await chat.unblock(ALICE)
    await chat.send_one(ALICE, "/books")
    await chat.deliveries_done()
    assert chat.api.received(ALICE.id, GOOD_NEWS) == 1
    assert [status for status, *_ in await notification_of(engine, ALICE)] == ["sent"]


async def test_unblocking_after_the_book_sold_out_again_brings_nothing(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await dune_awaited_by(services, ALICE)
    await chat.block(ALICE)
    await restock(chat, 3)
    await chat.send_one(ADMIN, "/restock 1 0")
    await chat.unblock(ALICE)
    await chat.deliveries_done()
    assert chat.api.sent("sendMessage", ALICE.id) == []
    assert await notification_of(engine, ALICE) == [("failed", 0, "unreachable")]


async def test_a_reader_refused_with_403_who_writes_gets_the_missed_message_once(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await dune_awaited_by(services, ALICE)
    chat.api.failing_chats[ALICE.id] = 403  # blocked, but the update never reached us
    await restock(chat, 3)
    assert await notification_of(engine, ALICE) == [
        ("failed", 1, "Forbidden: bot was blocked by the user")
    ]

    chat.api.failing_chats.clear()
    # Not send_one: the requeued message may go out while this update is being handled.
    await chat.send(ALICE, "/books")
    await chat.deliveries_done()
    assert chat.api.received(ALICE.id, GOOD_NEWS) == 1
    await chat.send_one(ALICE, "/books")
    await chat.send_one(ALICE, "/help")
    await chat.deliveries_done()
    assert chat.api.received(ALICE.id, GOOD_NEWS) == 1


async def test_coming_back_several_times_at_once_brings_the_message_once(
    chat: Chat, services: Services
) -> None:
    await dune_awaited_by(services, ALICE)
    await chat.block(ALICE)
    await restock(chat, 3)
    chat.api.failing_chats.clear()
    unblock = my_chat_member_update(chat.next_update_id(), ALICE, "kicked", "member")
    await asyncio.gather(
        chat.feed(unblock),
        chat.feed(dict(unblock, update_id=chat.next_update_id())),
        chat.send(ALICE, "/books"),
        chat.send(ALICE, "/help"),
    )
    await chat.deliveries_done()
    assert chat.api.received(ALICE.id, GOOD_NEWS) == 1


async def test_the_service_requeues_once_under_concurrent_calls(
    chat: Chat, services: Services
) -> None:
    await dune_awaited_by(services, ALICE)
    await chat.block(ALICE)
    await restock(chat, 3)
    requeued = await asyncio.gather(
        *(services.notifications.reachable_again(ALICE.id) for _ in range(20))
    )
    assert sorted(requeued) == [0] * 19 + [1]


async def test_odd_membership_updates_change_nothing(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await dune_awaited_by(services, ALICE)
    group = {"id": -100123, "type": "supergroup", "title": "Readers"}
    odd = [
        # Removed from a group, or made its admin: not a reader blocking us.
        my_chat_member_update(chat.next_update_id(), ALICE, "member", "kicked", group),
        my_chat_member_update(chat.next_update_id(), ALICE, "member", "administrator", group),
        my_chat_member_update(chat.next_update_id(), ALICE, "left", "member", group),
        # A stranger who never wrote to the bot blocks it.
        my_chat_member_update(chat.next_update_id(), Person(4242, "Eve"), "member", "kicked"),
        # A status a private chat doesn't have.
        my_chat_member_update(chat.next_update_id(), ALICE, "member", "left"),
    ]
    before = await snapshot(engine)
    for update in odd:
        assert await chat.feed(update) == []
    assert await snapshot(engine) == before


async def test_a_reachable_readers_updates_write_nothing_to_their_row(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await dune_awaited_by(services, ALICE)
    row_version = "SELECT xmin::text FROM users WHERE telegram_id = :id"
    before = await rows(engine, row_version, id=ALICE.id)
    await chat.send_one(ALICE, "/books")
    await chat.send_one(ALICE, "/help")
    assert await rows(engine, row_version, id=ALICE.id) == before


async def test_users_chat_id_lookups_use_an_index(services: Services, engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id) "
                "SELECT n, n FROM generate_series(1, 100000) AS n"
            )
        )
        await connection.execute(text("ANALYZE users"))
        plans = [
            "\n".join(await connection.scalars(text(f"EXPLAIN {statement}")))
            for statement in (
                "UPDATE users SET unreachable_at = now() WHERE chat_id = 500",
                "SELECT chat_id FROM users WHERE chat_id IN (5, 50, 500) "
                "AND unreachable_at IS NOT NULL FOR SHARE",
            )
        ]
    for plan in plans:
        assert "ix_users_chat_id" in plan, plan


async def test_a_comeback_during_the_claim_that_skips_the_reader_still_brings_the_message(
    services: Services, engine: AsyncEngine
) -> None:
    """The claim reads the reader as unreachable and fails their message, slowly; they come
    back meanwhile. Whichever commits first, the message must not end failed for good."""
    await dune_awaited_by(services, ALICE)
    await services.users.blocked_us(ALICE.id)
    await services.restocks.restock(ADMIN.id, 1, 3)
    slow_skip = (
        "CREATE FUNCTION slow_skip() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$",
        "CREATE TRIGGER slow_skip BEFORE UPDATE ON notifications FOR EACH ROW "
        "WHEN (NEW.last_error = 'unreachable') EXECUTE FUNCTION slow_skip()",
    )
    async with engine.begin() as connection:
        for statement in slow_skip:
            await connection.execute(text(statement))

    async def come_back_during_the_claim() -> int:
        await asyncio.sleep(0.2)
        return await services.notifications.reachable_again(ALICE.id)

    try:
        claimed, _ = await asyncio.gather(
            services.outbox.claim_due(10, timedelta(seconds=30)), come_back_during_the_claim()
        )
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER slow_skip ON notifications"))
            await connection.execute(text("DROP FUNCTION slow_skip()"))
    assert claimed == []
    assert await rows(
        engine, "SELECT status::text, next_attempt_at <= now() FROM notifications"
    ) == [("pending", True)]


async def test_a_failing_comeback_check_leaves_the_readers_answer_alone(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await dune_awaited_by(services, ALICE)
    await chat.block(ALICE)
    chat.api.failing_chats.clear()
    unreachable = "SELECT unreachable_at IS NOT NULL FROM users WHERE telegram_id = :id"
    async with failing_trigger(engine, "users", "BEFORE UPDATE", "disk full"):
        reply = await chat.send_one(ALICE, "/help")  # one answer, the one asked for
    assert "/books" in reply.text
    assert await rows(engine, unreachable, id=ALICE.id) == [(True,)]
    await chat.send_one(ALICE, "/help")  # the next update tries again
    assert await rows(engine, unreachable, id=ALICE.id) == [(False,)]


async def test_a_reader_back_after_days_is_not_lost_to_the_age_limit(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """Blocked at the restock, back four days later while the book is in stock: the
    message requeued then is new to the age limit (3 days), not already too old."""
    await dune_awaited_by(services, ALICE)
    await chat.block(ALICE)
    await restock(chat, 3)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE notifications SET created_at = now() - interval '4 days'")
        )
    async with failing_trigger(
        engine,
        "notifications",
        "BEFORE UPDATE",
        "claims held back",
        "NEW.claim_token IS DISTINCT FROM OLD.claim_token",
    ):
        await chat.unblock(ALICE)
        assert await services.outbox.give_up_older_than(timedelta(days=3)) == 0
    await chat.deliveries_done()
    assert chat.api.received(ALICE.id, GOOD_NEWS) == 1


OFFER = "📦 A copy of <b>Dune</b> by Frank Herbert is set aside for you until "
REMINDER = "⏰"


def hold_messages_to(chat: Chat, person: Person, start: str) -> list[str]:
    return [text for text in chat.api.texts_to(person.id) if text.startswith(start)]


async def hold_for_a_blocked_reader(chat: Chat, services: Services) -> None:
    """Alice blocked the bot before her copy was set aside: her offer was skipped."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.block(ALICE)
    await restock(chat, 1)
    assert chat.api.sent("sendMessage", ALICE.id)[1:] == []  # only the reserve's answer


async def test_a_held_copys_missed_offer_comes_on_comeback_once_with_its_deadline(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await hold_for_a_blocked_reader(hold_chat, hold_services)
    deadline = "SELECT status::text, hold_expires_at FROM pre_bookings WHERE id = 1"
    [held] = await rows(engine, deadline)
    assert held[0] == "on_hold"

    await hold_chat.unblock(ALICE)
    await hold_chat.deliveries_done()
    [offer] = hold_messages_to(hold_chat, ALICE, OFFER)
    assert "Show reservation #1 at the counter" in offer
    assert await rows(engine, deadline) == [held]  # the pickup window kept running

    await hold_chat.block(ALICE)
    await hold_chat.unblock(ALICE)
    await hold_chat.send_one(ALICE, "/help")
    await hold_chat.deliveries_done()
    assert len(hold_messages_to(hold_chat, ALICE, OFFER)) == 1


async def test_a_missed_offer_of_a_hold_that_ended_stays_unsent(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await hold_for_a_blocked_reader(hold_chat, hold_services)
    await hold_chat.send_one(ADMIN, "/collected 1")
    await hold_chat.unblock(ALICE)
    await hold_chat.deliveries_done()
    assert hold_messages_to(hold_chat, ALICE, OFFER) == []
    assert await rows(
        engine, "SELECT kind, status::text FROM notifications WHERE chat_id = :chat", chat=ALICE.id
    ) == [("hold_offer", "failed")]


async def test_a_missed_reminder_comes_on_comeback_unless_the_offer_comes_too(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    """A reader who had the offer and missed the reminder gets the reminder; one who missed
    both gets the offer alone (it says the same deadline)."""
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB):
        await hold_chat.send_one(reader, "/reserve 1")
    await hold_chat.block(BOB)
    await restock(hold_chat, 2)
    assert len(hold_messages_to(hold_chat, ALICE, OFFER)) == 1
    await hold_chat.block(ALICE)
    async with engine.begin() as connection:
        # Into the last day of the window: the expiry loop queues the reminders.
        await connection.execute(
            text(
                "UPDATE pre_bookings SET notified_at = now() - interval '2 days', "
                "hold_expires_at = now() + interval '1 hour'"
            )
        )
    async with asyncio.timeout(10):
        while await rows(
            engine,
            "SELECT 1 FROM notifications WHERE kind = 'hold_reminder' AND status = 'failed'",
        ) != [(1,), (1,)]:
            await asyncio.sleep(0.02)

    await hold_chat.unblock(ALICE)
    await hold_chat.unblock(BOB)
    await hold_chat.deliveries_done()
    assert len(hold_messages_to(hold_chat, ALICE, REMINDER)) == 1
    assert len(hold_messages_to(hold_chat, ALICE, OFFER)) == 1
    assert hold_messages_to(hold_chat, BOB, REMINDER) == []
    assert len(hold_messages_to(hold_chat, BOB, OFFER)) == 1


async def test_a_hold_past_its_deadline_is_not_offered_again_before_it_is_swept(
    hold_services: Services, engine: AsyncEngine
) -> None:
    """Back a moment after the deadline, before the expiry loop ends the hold: the offer
    would promise a copy that is about to go to the next reader."""
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_services.reservations.reserve(Reader(ALICE.id, ALICE.id), 1)
    await hold_services.users.blocked_us(ALICE.id)
    await hold_services.restocks.restock(ADMIN.id, 1, 1)
    assert await hold_services.outbox.claim_due(10, timedelta(seconds=30)) == []
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE pre_bookings SET hold_expires_at = now() - interval '1 second'")
        )
    assert await hold_services.notifications.reachable_again(ALICE.id) == 0
    assert await notification_of(engine, ALICE) == [("failed", 0, "unreachable")]
