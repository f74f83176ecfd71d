"""Place updates (issue 21, item 3): a waiting reader whose place improves is told the new
place through the outbox, at most once a day per reservation (the first at once), never
while paused or after pressing Stop, not at all under LINE_UPDATES=off."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.playground.local_bot_api import SentRequest
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat, Person
from tests.conftest import HOLD_SHOP, bot_application, running
from tests.db import add_books, rows, snapshot
from tests.fake_telegram import FakeBotApi

DAVE = Person(1004, "Dave")
ERIN = Person(1005, "Erin", language_code="ru")
UPDATE = "📈 "
STOP = "Stop these updates"
SHOP = Shop(frozenset({ADMIN.id}))


@pytest.fixture
async def line_services(services: Services, engine: AsyncEngine) -> Services:
    """Services on empty tables, with place updates (LINE_UPDATES=on, the default)."""
    return build_services(engine, TelegramMessages(), SHOP)


@pytest.fixture
async def line_chat(line_services: Services, api: FakeBotApi) -> AsyncIterator[Chat]:
    """The bot with its line's loop passing every 50 ms."""
    async with running(bot_application(line_services, api, hold_poll_interval=0.05)) as started:
        yield Chat(started, api)


def sent_updates(chat: Chat, person: Person) -> list[SentRequest]:
    return [r for r in chat.api.sent("sendMessage", person.id) if r.text.startswith(UPDATE)]


def updates_to(chat: Chat, person: Person) -> list[str]:
    return [t for t in chat.api.texts_to(person.id) if t.startswith(UPDATE)]


async def settled(engine: AsyncEngine, limit_seconds: float = 10) -> None:
    """Every moved line looked at, every update due now sent (or given back for a
    chat's pace): what is left pending is due later (tomorrow's)."""
    async with asyncio.timeout(limit_seconds):
        while await rows(
            engine,
            "SELECT 1 FROM books WHERE line_moved_at IS NOT NULL "
            "UNION ALL SELECT 1 FROM notifications WHERE status = 'pending' "
            "AND next_attempt_at <= now() + interval '1 hour'",
        ):
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # a pass under way when we looked is done too


async def line_of(chat: Chat, *people: Person) -> None:
    for person in people:
        reply = await chat.send_one(person, "/reserve 1")
        assert "<b>Dune</b>" in reply.text, reply.text


async def a_day_passes(engine: AsyncEngine) -> None:
    """Yesterday's updates were a day ago: what waits for tomorrow is due now."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET place_told_at = place_told_at - interval '1 day' "
                "WHERE place_told_at IS NOT NULL"
            )
        )
        await connection.execute(
            text(
                "UPDATE notifications SET next_attempt_at = now() "
                "WHERE status = 'pending' AND kind = 'place_update'"
            )
        )


async def test_a_cancellation_ahead_tells_the_readers_behind_at_once(
    line_chat: Chat, line_services: Services, engine: AsyncEngine
) -> None:
    await add_books(line_services, ("Dune", "Frank Herbert", 0))
    await line_of(line_chat, ALICE, BOB, CAROL, ERIN)

    await line_chat.send_one(BOB, "/cancel 2")
    await settled(engine)

    [carols] = sent_updates(line_chat, CAROL)
    assert carols.text == (
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 2nd in line (reservation #3)."
    )
    assert [label for label, _ in carols.buttons] == [STOP]
    assert updates_to(line_chat, ERIN) == [
        "📈 Очередь на <b>Dune</b>, Frank Herbert продвинулась: "
        "теперь вы 3-й в очереди (бронь №4)."
    ]
    # Alice, ahead of Bob, did not move; Bob left.
    assert updates_to(line_chat, ALICE) == updates_to(line_chat, BOB) == []
    assert await rows(engine, "SELECT id, place_told FROM pre_bookings ORDER BY id") == [
        (1, 1),
        (2, 2),
        (3, 2),
        (4, 3),
    ]


async def test_place_updates_once_a_day_with_the_newest_place(
    line_chat: Chat, line_services: Services, engine: AsyncEngine
) -> None:
    await add_books(line_services, ("Dune", "Frank Herbert", 0))
    await line_of(line_chat, ALICE, BOB, CAROL, DAVE)
    await line_chat.send_one(ALICE, "/cancel 1")
    await settled(engine)
    assert updates_to(line_chat, DAVE) == [
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 3rd in line (reservation #4)."
    ]

    # Twice more the same day: nothing more today, the newest place waits for tomorrow.
    await line_chat.send_one(BOB, "/cancel 2")
    await settled(engine)
    await line_chat.send_one(CAROL, "/cancel 3")
    await settled(engine)
    assert len(updates_to(line_chat, DAVE)) == 1
    # Queued as of tomorrow: NOTIFICATION_MAX_AGE counts from then.
    [(waiting, tomorrow, queued_then)] = await rows(
        engine,
        "SELECT text, next_attempt_at > now() + interval '23 hours', "
        "created_at = next_attempt_at FROM notifications "
        "WHERE status = 'pending' AND pre_booking_id = 4",
    )
    assert tomorrow
    assert queued_then
    assert "you are now 1st in line" in waiting

    await a_day_passes(engine)
    await settled(engine)
    assert updates_to(line_chat, DAVE)[1:] == [
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 1st in line (reservation #4)."
    ]
    assert await rows(engine, "SELECT place_told FROM pre_bookings WHERE id = 4") == [(1,)]
    # Carol's own update, waiting for tomorrow when she cancelled, was never sent.
    assert updates_to(line_chat, CAROL) == [
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 2nd in line (reservation #3)."
    ]
    assert await rows(
        engine, "SELECT status::text FROM notifications WHERE pre_booking_id = 3 ORDER BY id"
    ) == [("sent",), ("obsolete",)]


async def test_never_to_a_paused_or_opted_out_reader(
    line_chat: Chat, line_services: Services, engine: AsyncEngine
) -> None:
    await add_books(line_services, ("Dune", "Frank Herbert", 0))
    await line_of(line_chat, ALICE, BOB, CAROL, DAVE, ERIN)
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE pre_bookings SET status = 'paused' WHERE id = 2"))
        await connection.execute(
            text("UPDATE users SET line_updates = false WHERE telegram_id = :id"), {"id": CAROL.id}
        )

    await line_chat.send_one(ALICE, "/cancel 1")
    await settled(engine)

    assert updates_to(line_chat, BOB) == updates_to(line_chat, CAROL) == []
    # Bob, paused, is not counted ahead of Dave: Carol alone is.
    assert updates_to(line_chat, DAVE) == [
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 2nd in line (reservation #4)."
    ]
    assert len(updates_to(line_chat, ERIN)) == 1

    # An update waiting for tomorrow is dropped if its reader pauses meanwhile, or turns
    # updates off: it is never sent.
    await line_chat.send_one(CAROL, "/cancel 3")
    await settled(engine)
    await line_chat.send_one(ERIN, "/updates off")
    await line_chat.send_one(DAVE, "/pause 4")
    await settled(engine)
    await a_day_passes(engine)
    await settled(engine)
    assert len(updates_to(line_chat, DAVE)) == len(updates_to(line_chat, ERIN)) == 1
    assert await rows(
        engine,
        "SELECT pre_booking_id, status::text FROM notifications "
        "WHERE kind = 'place_update' ORDER BY id",
    ) == [(4, "sent"), (5, "sent"), (4, "obsolete"), (5, "obsolete")]


async def test_the_shop_may_turn_place_updates_off(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    assert Shop.from_settings(Settings(_env_file=None)).line_updates
    off = Settings(_env_file=None, line_updates="off")
    quiet = build_services(engine, TelegramMessages(), replace(SHOP, line_updates=False))
    assert Shop.from_settings(off).line_updates is False
    await add_books(quiet, ("Dune", "Frank Herbert", 0))
    async with running(bot_application(quiet, api, hold_poll_interval=0.05)) as started:
        chat = Chat(started, api)
        await line_of(chat, ALICE, BOB, CAROL)
        await chat.send_one(ALICE, "/cancel 1")
        await asyncio.sleep(0.3)  # six passes of the loop
        await chat.deliveries_done()
        asked = await chat.send_one(BOB, "/updates on")
    assert asked.text == ("This shop sends no place updates; /myreservations shows your place.")
    assert updates_to(chat, BOB) == updates_to(chat, CAROL) == []
    assert await rows(engine, "SELECT count(*) FROM notifications") == [(0,)]


async def test_stop_these_updates_turns_them_off_for_the_reader(
    line_chat: Chat, line_services: Services, engine: AsyncEngine
) -> None:
    await add_books(line_services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await line_of(line_chat, ALICE, BOB, CAROL)  # #1, #2, #3
    await line_chat.send_one(ALICE, "/reserve 2")  # #4
    await line_chat.send_one(CAROL, "/reserve 2")  # #5
    await line_chat.send_one(ALICE, "/cancel 1")
    await settled(engine)
    [update] = sent_updates(line_chat, CAROL)
    # One more move: Carol's update waits for tomorrow.
    await line_chat.send_one(BOB, "/cancel 2")
    await settled(engine)

    # Forged payloads change nothing.
    before = await snapshot(engine)
    for forged in ("lu", "lu:", "lu:on", "lu:off:3", "lu:offf", "lu:off" + "x" * 70):
        answers = await line_chat.press_data(CAROL, forged, line_chat.current(update))
        assert answers[0].method == "answerCallbackQuery", forged
        assert "Stop" not in answers[0].params.get("text", ""), forged
    assert await snapshot(engine) == before

    pressed = await line_chat.press(CAROL, STOP, update)
    assert [r.method for r in pressed] == ["answerCallbackQuery"]
    assert pressed[0].params["text"] == (
        "Place updates are off. /myreservations still shows your place."
    )
    assert await rows(
        engine, "SELECT telegram_id, line_updates FROM users ORDER BY telegram_id"
    ) == [(ALICE.id, True), (BOB.id, True), (CAROL.id, False)]
    # The update waiting for tomorrow is dropped; nor do moves in her other lines tell her.
    assert await rows(
        engine, "SELECT status::text FROM notifications WHERE pre_booking_id = 3 ORDER BY id"
    ) == [("sent",), ("obsolete",)]
    await line_chat.send_one(ALICE, "/cancel 4")
    await settled(engine)
    await a_day_passes(engine)
    await settled(engine)
    assert len(updates_to(line_chat, CAROL)) == 1
    assert await rows(engine, "SELECT count(*) FROM notifications WHERE status = 'pending'") == [
        (0,)
    ]

    # /updates on turns them back on (bad arguments change nothing); off again, as Stop.
    before = await snapshot(engine)
    for bad in ("/updates", "/updates maybe", "/updates on off"):
        refused = await line_chat.send_one(CAROL, bad)
        assert refused.text == "Usage: /updates on or /updates off", bad
    assert await snapshot(engine) == before
    on = await line_chat.send_one(CAROL, "/updates ON")
    assert on.text.startswith("Place updates are on: when your place in a line improves")
    await line_chat.send_one(BOB, "/reserve 2")  # #6, behind Carol
    await line_chat.send_one(DAVE, "/reserve 2")  # #7
    await line_chat.send_one(BOB, "/cancel 6")
    await settled(engine)
    assert updates_to(line_chat, DAVE) == [
        "📈 You moved up in the line for <b>Emma</b> by Jane Austen: "
        "you are now 2nd in line (reservation #7)."
    ]
    off = await line_chat.send_one(DAVE, "/updates off")
    assert off.text == "Place updates are off. /myreservations still shows your place."
    assert await rows(
        engine,
        "SELECT line_updates FROM users WHERE telegram_id IN (:c, :d) ORDER BY id",
        c=CAROL.id,
        d=DAVE.id,
    ) == [(True,), (False,)]


async def test_a_copy_set_aside_moves_the_readers_behind_up(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    hold_in_line = build_services(
        engine, TelegramMessages(), replace(HOLD_SHOP, line_updates=True)
    )
    await add_books(hold_in_line, ("Dune", "Frank Herbert", 0))
    async with running(bot_application(hold_in_line, api, hold_poll_interval=0.05)) as started:
        chat = Chat(started, api)
        await line_of(chat, ALICE, BOB, CAROL)
        await chat.send(ADMIN, "/restock 1 1")
        await settled(engine)
    assert updates_to(chat, ALICE) == []
    assert updates_to(chat, BOB) == [
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 1st in line (reservation #2)."
    ]
    assert len(updates_to(chat, CAROL)) == 1


async def test_a_pause_ahead_moves_the_readers_behind_up(
    line_chat: Chat, line_services: Services, engine: AsyncEngine
) -> None:
    await add_books(line_services, ("Dune", "Frank Herbert", 0))
    await line_of(line_chat, ALICE, BOB, CAROL)

    await line_chat.send_one(ALICE, "/pause 1")
    await settled(engine)

    assert updates_to(line_chat, ALICE) == []
    assert updates_to(line_chat, CAROL) == [
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 2nd in line (reservation #3)."
    ]
    # Resumed, Alice is ahead again: places got worse, nobody is told.
    await line_chat.send_one(ALICE, "/resume 1")
    await settled(engine)
    assert len(updates_to(line_chat, BOB)) == len(updates_to(line_chat, CAROL)) == 1
    assert updates_to(line_chat, ALICE) == []


async def test_an_update_out_for_sending_is_not_rewritten_and_its_line_is_looked_at_again(
    line_services: Services, engine: AsyncEngine
) -> None:
    """Services only: a claim's lease planted on a pending update, as the dispatcher's."""
    await add_books(line_services, ("Dune", "Frank Herbert", 0))
    alice, bob, carol = (Reader(p.id, p.id, None, p.first_name) for p in (ALICE, BOB, CAROL))
    for reader in (alice, bob, carol):
        await line_services.reservations.reserve(reader, 1)
    await line_services.reservations.cancel(alice, 1)
    await line_services.line_upkeep.sweep()
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE notifications SET claim_token = gen_random_uuid(), "
                "next_attempt_at = now() + interval '30 seconds' WHERE pre_booking_id = 3"
            )
        )
    before = await rows(engine, "SELECT id, text FROM notifications WHERE pre_booking_id = 3")

    await line_services.reservations.cancel(bob, 2)
    await line_services.line_upkeep.sweep()

    # Carol's "2nd" is on its way: it stays as it is, and so does the place she was told.
    assert (
        await rows(engine, "SELECT id, text FROM notifications WHERE pre_booking_id = 3") == before
    )
    assert await rows(engine, "SELECT place_told FROM pre_bookings WHERE id = 3") == [(2,)]
    [(later,)] = await rows(
        engine,
        "SELECT line_moved_at BETWEEN now() + interval '50 seconds' "
        "AND now() + interval '70 seconds' FROM books",
    )
    assert later
    # A move meanwhile brings the look forward.
    await line_services.reservations.reserve(alice, 1)
    await line_services.reservations.cancel(alice, 4)
    assert await rows(engine, "SELECT line_moved_at <= now() FROM books") == [(True,)]


async def test_a_reader_resumed_ahead_drops_an_update_of_a_place_no_longer_held(
    line_chat: Chat, line_services: Services, engine: AsyncEngine
) -> None:
    await add_books(line_services, ("Dune", "Frank Herbert", 0))
    await line_of(line_chat, ALICE, BOB, CAROL)
    await line_chat.send_one(ALICE, "/pause 1")
    await settled(engine)
    assert len(updates_to(line_chat, CAROL)) == 1  # 2nd
    # Bob leaves: Carol's "1st" waits for tomorrow; then Alice comes back ahead of her.
    await line_chat.send_one(BOB, "/cancel 2")
    await settled(engine)
    await line_chat.send_one(ALICE, "/resume 1")
    await settled(engine)
    # Her next update may go a day after the last she was sent, not after the one dropped.
    assert await rows(engine, "SELECT place_told_at <= now() FROM pre_bookings WHERE id = 3") == [
        (True,)
    ]

    await a_day_passes(engine)
    await settled(engine)
    # Carol is 2nd, as she was told: never "1st", a place she does not hold.
    assert updates_to(line_chat, CAROL) == [
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 2nd in line (reservation #3)."
    ]
    assert await rows(engine, "SELECT place_told FROM pre_bookings WHERE id = 3") == [(2,)]
    # Her next better place is told (a day after the last she was sent).
    await line_chat.send_one(ALICE, "/cancel 1")
    await settled(engine)
    assert updates_to(line_chat, CAROL)[1:] == [
        "📈 You moved up in the line for <b>Dune</b> by Frank Herbert: "
        "you are now 1st in line (reservation #3)."
    ]


async def test_the_line_s_loop_never_waits_for_an_update_a_claim_is_taking(
    line_services: Services, engine: AsyncEngine
) -> None:
    """Services only: a claim under way (its transaction open) holds Carol's update. The
    loop, holding the book, must not wait for it: the claim may itself be waiting for a
    reader's row that a reader's press holds while it waits for the book."""
    await add_books(line_services, ("Dune", "Frank Herbert", 0))
    alice, bob, carol = (Reader(p.id, p.id, None, p.first_name) for p in (ALICE, BOB, CAROL))
    for reader in (alice, bob, carol):
        await line_services.reservations.reserve(reader, 1)
    await line_services.reservations.cancel(alice, 1)
    await line_services.line_upkeep.sweep()
    await line_services.reservations.cancel(bob, 2)
    async with engine.connect() as claim, claim.begin():
        await claim.execute(
            text("SELECT 1 FROM notifications WHERE pre_booking_id = 3 FOR UPDATE")
        )
        async with asyncio.timeout(5):
            await line_services.line_upkeep.sweep()
    # Carol's update is looked at again later, as one out for sending.
    assert await rows(engine, "SELECT place_told FROM pre_bookings WHERE id = 3") == [(2,)]
    [(later,)] = await rows(engine, "SELECT line_moved_at > now() FROM books")
    assert later


async def test_an_update_given_back_for_later_is_rewritten_with_the_newer_place(
    line_services: Services, engine: AsyncEngine
) -> None:
    """Services only: the dispatcher gives Carol's update back, due in ten minutes (her
    chat's pace, a retry after an error, an outage's probe): it is no longer out for
    sending, so a newer place rewrites it instead of waiting for it to go, outdated."""
    await add_books(line_services, ("Dune", "Frank Herbert", 0))
    alice, bob, carol = (Reader(p.id, p.id, None, p.first_name) for p in (ALICE, BOB, CAROL))
    for reader in (alice, bob, carol):
        await line_services.reservations.reserve(reader, 1)
    await line_services.reservations.cancel(alice, 1)
    await line_services.line_upkeep.sweep()
    claimed = await line_services.outbox.claim_due(10, timedelta(seconds=30))
    assert [delivery.chat_id for delivery in claimed] == [BOB.id, CAROL.id]
    await line_services.outbox.give_back(claimed, timedelta(minutes=10))

    await line_services.reservations.cancel(bob, 2)
    await line_services.line_upkeep.sweep()

    [(waiting, later)] = await rows(
        engine,
        "SELECT text, next_attempt_at > now() + interval '9 minutes' FROM notifications "
        "WHERE pre_booking_id = 3 AND status = 'pending'",
    )
    assert "you are now 1st in line" in waiting
    assert later
    assert await rows(engine, "SELECT place_told FROM pre_bookings WHERE id = 3") == [(1,)]
    assert await rows(engine, "SELECT line_moved_at FROM books") == [(None,)]
