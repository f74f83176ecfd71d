"""Pause (Koha's "suspend"): a reader steps out of the line, keeps their place, is skipped
by restocks under either policy, and comes back by /resume, the Resume button, or on the
day they chose (the line's loop, across a restart), through the real Application."""

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.database import create_engine, create_session_factory
from bot.line.resuming import ResumeStep
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat
from tests.conftest import HOLD_SHOP, SHOP_ZONE, bot_application, running
from tests.db import add_books, rows, snapshot
from tests.fake_telegram import FakeBotApi
from tests.test_hold_conversations import offers_to, staff_restock, until_sent
from tests.test_needed_until import ShopClock

BACK = "📚 Good news: <b>Dune</b> by Frank Herbert is back in stock!"
BERLIN = ZoneInfo(SHOP_ZONE)


async def statuses(engine: AsyncEngine) -> list[str]:
    return [s for (s,) in await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id")]


async def test_a_paused_reader_is_skipped_by_a_hold_in_line_restock_and_keeps_their_place(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_chat.send_one(ALICE, "/reserve 1")
    await hold_chat.send_one(BOB, "/reserve 1")

    paused = await hold_chat.send_one(ALICE, "/pause 1")
    # Carol joins while Alice is away; Bob moves up to first.
    await hold_chat.send_one(CAROL, "/reserve 1")
    bobs = await hold_chat.send_one(BOB, "/myreservations")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()

    assert paused.text.startswith("⏸ Paused reservation #1 for <b>Dune</b> by Frank Herbert.")
    assert "You keep your place: 1st in line when you resume." in paused.text
    assert "/resume 1" in paused.text
    assert "· 1st in line" in bobs.text
    # The copy skipped Alice and went to Bob.
    assert offers_to(hold_chat, ALICE.id) == []
    assert len(offers_to(hold_chat, BOB.id)) == 1
    alices = await hold_chat.send_one(ALICE, "/myreservations")
    assert "⏸ paused on" in alices.text
    assert "· 1st in line when you resume" in alices.text

    # Staff can't hand a paused reader a copy.
    collected = await hold_chat.send_one(ADMIN, "/collected 1")
    assert collected.text == (
        "Reservation #1 is not on hold (it is paused): only a held copy can be collected."
    )

    resumed = await hold_chat.send_one(ALICE, "/resume 1")
    assert resumed.text == (
        "▶️ Resumed reservation #1 for <b>Dune</b> by Frank Herbert: you are 1st in line."
    )
    # Ahead of Carol, who joined later: Bob's copy, let go, is Alice's.
    await hold_chat.send_one(BOB, "/cancel 2")
    await hold_chat.deliveries_done()
    assert len(offers_to(hold_chat, ALICE.id)) == 1
    assert offers_to(hold_chat, CAROL.id) == []
    assert await statuses(engine) == ["on_hold", "cancelled", "waiting"]


async def test_a_paused_reader_is_skipped_by_a_notify_all_restock_and_told_on_resuming(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB):
        await chat.send_one(reader, "/reserve 1")
    await chat.send_one(ALICE, "/pause 1")
    await chat.send_one(CAROL, "/reserve 1")
    # Paused and back: at her place, ahead of Bob and of Carol, who joined later.
    resumed = await chat.send_one(ALICE, "/resume 1")
    carols = await chat.send_one(CAROL, "/myreservations")
    assert "you are 1st in line" in resumed.text
    assert "· 3rd in line" in carols.text
    assert await rows(engine, "SELECT place_told FROM pre_bookings WHERE id = 1") == [(1,)]

    await chat.send_one(ALICE, "/pause 1")
    restock = await staff_restock(chat, "/restock 1 3")
    await chat.deliveries_done()

    assert "Notified 2 waiting readers" in restock.text
    assert chat.api.received(BOB.id, BACK) == 1
    assert chat.api.received(CAROL.id, BACK) == 1
    assert chat.api.received(ALICE.id, BACK) == 0
    assert await statuses(engine) == ["paused", "notified", "notified"]

    # Back with copies on the shelf: told, as the restock told the others.
    resumed = await chat.send_one(ALICE, "/resume 1")
    await chat.deliveries_done()
    assert resumed.text == (
        "▶️ Resumed reservation #1 for <b>Dune</b> by Frank Herbert, and it is back in "
        "stock: my next message has the news."
    )
    assert chat.api.received(ALICE.id, BACK) == 1
    assert await statuses(engine) == ["notified", "notified", "notified"]
    # /deliveries counts her message with the restock's.
    deliveries = await chat.send_one(ADMIN, "/deliveries 1")
    assert "3" in deliveries.text


async def test_resuming_where_a_copy_is_free_sets_it_aside(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_chat.send_one(ALICE, "/reserve 1")
    await hold_chat.send_one(BOB, "/reserve 1")
    await hold_chat.send_one(ALICE, "/pause 1")
    await staff_restock(hold_chat, "/restock 1 2")  # one for Bob, one free
    await hold_chat.deliveries_done()
    assert offers_to(hold_chat, ALICE.id) == []

    resumed = await hold_chat.send_one(ALICE, "/resume 1")
    await hold_chat.deliveries_done()

    assert resumed.text.startswith(
        "▶️ Resumed reservation #1 for <b>Dune</b> by Frank Herbert: a copy is free, "
        "and it is set aside for you."
    )
    assert len(offers_to(hold_chat, ALICE.id)) == 1
    assert await statuses(engine) == ["on_hold", "on_hold"]


async def test_a_hold_cannot_be_paused(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_chat.send_one(ALICE, "/reserve 1")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()
    [offer] = offers_to(hold_chat, ALICE.id)
    before = await snapshot(engine)

    refused = await hold_chat.send_one(ALICE, "/pause 1")
    pressed = await hold_chat.press_data(ALICE, "ps:1:1", offer)

    assert refused.text == (
        "Reservation #1 can't be paused: a copy is set aside for you. If you don't need it "
        "now, tap Don't need it (or send /cancel 1): the copy goes to the next reader."
    )
    assert any("can't be paused" in (r.text or str(r.params)) for r in pressed)
    assert await snapshot(engine) == before


async def test_bad_ids_days_and_buttons_change_nothing(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send_one(BOB, "/reserve 2")
    alices = await chat.send_one(ALICE, "/myreservations")
    today = datetime.now(UTC).date()  # in the default shop's zone, UTC
    before = await snapshot(engine)

    answers = {
        command: (await chat.send_one(ALICE, command)).text
        for command in (
            "/pause 2",
            "/pause 99",
            "/pause x",
            "/pause",
            "/pause 1 2026-13-01",
            "/pause 1 tomorrow",
            "/pause 1 2026-12-24 extra",
            f"/pause 1 {today}",
            f"/pause 1 {today - timedelta(days=1)}",
            "/resume 1",
            "/resume 2",
            "/resume",
        )
    }
    pressed = [
        await chat.press_data(ALICE, data, alices)
        for data in ("ps:2:1", "rs:1:1", "rs:2:1", "ps:x:1", "ps:1:0", "ps:1", "ps:1:1:1")
    ]

    assert answers["/pause 2"] == "You have no reservation #2. Send /myreservations to see yours."
    assert answers["/pause 99"].startswith("You have no reservation #99.")
    assert answers["/pause x"].startswith("Usage: /pause &lt;reservation id&gt; [YYYY-MM-DD]")
    assert answers["/pause"].startswith("Usage: /pause")
    assert answers["/pause 1 2026-13-01"] == (
        "“2026-13-01” is not a day I can read: write it as YYYY-MM-DD, "
        "for example /pause 7 2026-12-24."
    )
    assert answers["/pause 1 tomorrow"].startswith("“tomorrow” is not a day I can read")
    assert answers["/pause 1 2026-12-24 extra"].startswith("Usage: /pause")
    for day in (today, today - timedelta(days=1)):
        assert answers[f"/pause 1 {day}"].startswith("The day to resume must come after today")
    assert answers["/resume 1"] == ("Reservation #1 isn't paused: it is waiting in line already.")
    assert answers["/resume 2"].startswith("You have no reservation #2.")
    assert answers["/resume"] == "Usage: /resume &lt;reservation id&gt;, for example /resume 7"
    toasts = [
        r.params.get("text", "") for p in pressed for r in p if r.method == "answerCallbackQuery"
    ]
    assert sum("out of date" in t or "no reservation #2" in t for t in toasts) >= 5, toasts
    assert await snapshot(engine) == before

    # Paused once: a second pause is refused and changes nothing more.
    await chat.send_one(ALICE, "/pause 1")
    paused = await snapshot(engine)
    again = await chat.send_one(ALICE, "/pause 1")
    assert again.text == "Reservation #1 is already paused. Send /resume 1 to resume it."
    assert await snapshot(engine) == paused


async def test_pause_and_resume_buttons_in_the_readers_list(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send_one(BOB, "/reserve 1")
    bobs = await chat.send_one(BOB, "/myreservations")
    assert [label for label, _ in chat.current_buttons(bobs)] == [
        "Cancel #2 Dune",
        "⏸ Pause #2",
    ]

    pressed = await chat.press(BOB, "⏸ Pause #2", bobs)
    assert pressed[0].params.get("text") == "Reservation paused"
    listed = chat.current(bobs)["text"]
    assert "⏸ paused on" in listed
    assert "2nd in line when you resume" in listed
    assert [label for label, _ in chat.current_buttons(bobs)] == [
        "▶️ Resume #2 Dune",
        "Cancel #2 Dune",
    ]
    # The pause moved Alice's line: the place updates' loop has its marker.
    assert await rows(engine, "SELECT line_moved_at IS NOT NULL FROM books") == [(True,)]

    # Alice leaves: Bob, paused, moves up.
    await chat.send_one(ALICE, "/cancel 1")
    relisted = await chat.send_one(BOB, "/myreservations")
    assert "1st in line when you resume" in relisted.text

    pressed = await chat.press(BOB, "▶️ Resume #2", relisted)
    assert pressed[0].params.get("text") == "Reservation resumed"
    assert "⏳ waiting since" in chat.current(relisted)["text"]
    assert "· 1st in line" in chat.current(relisted)["text"]
    assert await statuses(engine) == ["cancelled", "waiting"]

    # A day to resume shows in the list; a paused reservation can be cancelled.
    await chat.send_one(BOB, "/pause 2 2099-01-31")
    dated = await chat.send_one(BOB, "/myreservations")
    assert "resumes by itself on Jan 31, 2099" in dated.text
    await chat.press(BOB, "Cancel #2", dated)
    assert await statuses(engine) == ["cancelled", "cancelled"]


async def test_the_limit_counts_paused_reservations(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    limited = build_services(
        engine, TelegramMessages(), replace(Shop(frozenset({ADMIN.id})), max_active_reservations=2)
    )
    await add_books(limited, *[(f"Book {n}", "Someone", 0) for n in (1, 2, 3)])
    async with running(bot_application(limited, api, hold_poll_interval=0.05)) as application:
        chat = Chat(application, api)
        await chat.send_one(ALICE, "/reserve 1")
        await chat.send_one(ALICE, "/reserve 2")
        await chat.send_one(ALICE, "/pause 1")
        refused = await chat.send_one(ALICE, "/reserve 3")
    assert refused.text.startswith("You already have 2 reservations waiting or set aside")
    assert await statuses(engine) == ["paused", "waiting"]


async def test_a_pause_with_a_day_resumes_by_itself_at_the_start_of_that_day_after_a_restart(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    # 1 March 2030, noon in Berlin: Alice pauses until 2 March.
    clock = ShopClock(datetime(2030, 3, 1, 12, 0, tzinfo=BERLIN))
    first = build_services(engine, TelegramMessages(), HOLD_SHOP, clock)
    await add_books(first, ("Dune", "Frank Herbert", 0))
    async with running(bot_application(first, api, hold_poll_interval=0.05)) as application:
        chat = Chat(application, api)
        await chat.send_one(ALICE, "/reserve 1")
        await chat.send_one(BOB, "/reserve 1")
        paused = await chat.send_one(ALICE, "/pause 1 2030-03-02")
        await staff_restock(chat, "/restock 1 2")  # one for Bob, one free
        await chat.deliveries_done()
    assert "until Mar 2, 2030, when it resumes by itself" in paused.text
    assert offers_to(chat, ALICE.id) == []

    # The bot starts again late on 1 March (shop time): not yet.
    late = build_services(
        engine, TelegramMessages(), HOLD_SHOP, ShopClock(datetime(2030, 3, 1, 22, 59, tzinfo=UTC))
    )
    async with running(bot_application(late, api, hold_poll_interval=0.05)):
        await asyncio.sleep(0.5)  # ten passes of the line's loop
    assert await statuses(engine) == ["paused", "on_hold"]

    # And again just after midnight in Berlin (still 1 March in UTC): resumed, and the
    # free copy set aside for her, once.
    day = build_services(
        engine, TelegramMessages(), HOLD_SHOP, ShopClock(datetime(2030, 3, 1, 23, 1, tzinfo=UTC))
    )
    async with running(bot_application(day, api, hold_poll_interval=0.05)) as application:
        chat = Chat(application, api)
        await until_sent(chat, ALICE.id, "📦 A copy of <b>Dune</b>")
        await asyncio.sleep(0.3)  # more passes: nothing repeats
        await chat.deliveries_done()
    assert len(offers_to(chat, ALICE.id)) == 1
    assert await rows(
        engine, "SELECT status::text, paused_at, resume_on FROM pre_bookings WHERE id = 1"
    ) == [("on_hold", None, None)]


async def test_two_processes_resume_each_due_reservation_once(
    services: Services, engine: AsyncEngine, database_url: str
) -> None:
    """Two line loops (each with its own engine, as two bot processes have) share the due
    resumes of 40 books, a few books a pass: each reader is resumed and offered once."""
    clock = ShopClock(datetime(2030, 3, 1, 12, 0, tzinfo=BERLIN))
    shop = build_services(engine, TelegramMessages(), HOLD_SHOP, clock)
    count = 40
    await add_books(shop, *[(f"Book {n}", "Someone", 0) for n in range(count)])
    for book_id in range(1, count + 1):
        reader = Reader(7000 + book_id, 7000 + book_id)
        confirmation = await shop.reservations.reserve(reader, book_id)
        await shop.pauses.pause(reader, confirmation.reservation_id, date(2030, 3, 2))
        await shop.restocks.restock(ADMIN.id, book_id, 1)  # free: the line is paused
    assert await statuses(engine) == ["paused"] * count

    clock.now = datetime(2030, 3, 2, 0, 0, tzinfo=BERLIN)
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        steps = [
            ResumeStep(
                create_session_factory(each),
                HOLD_SHOP.policy,
                BERLIN,
                TelegramMessages(),
                clock,
                3,
            )
            for each in engines
        ]

        async def loop(step: ResumeStep) -> int:
            done = 0
            while (report := await step.run()).done or report.more:
                done += report.done
            return done

        resumed = await asyncio.gather(*(loop(step) for step in steps))
    finally:
        for each in engines:
            await each.dispose()

    assert sum(resumed) == count
    assert await statuses(engine) == ["on_hold"] * count
    assert await rows(engine, "SELECT kind, count(*) FROM notifications GROUP BY kind") == [
        ("hold_offer", count)
    ]


async def test_the_books_card_shows_the_pause_and_resumes_it(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send_one(BOB, "/reserve 1")
    await chat.send_one(BOB, "/pause 2 2099-01-31")

    card = await chat.send_one(BOB, "/book 1")
    assert (
        "⏸ Your reservation #2 is paused until Jan 31, 2099: 2nd in line when it resumes."
        in card.text
    )
    assert [label for label, _ in chat.current_buttons(card)] == ["▶️ Resume my reservation"]

    await chat.press(BOB, "▶️ Resume", card)
    assert await statuses(engine) == ["waiting", "waiting"]
    again = await chat.send_one(BOB, "/book 1")
    assert "You are number 2 in line" in again.text


async def test_resuming_after_a_stock_change_without_news_still_tells_the_reader(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    # notify_all: the restock that brought the copies back told Bob; then staff sold one
    # (3 → 2), a stock change with no message of its own. Alice, back, gets the news
    # the restock had, not an empty message.
    await add_books(services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB):
        await chat.send_one(reader, "/reserve 1")
    await chat.send_one(ALICE, "/pause 1")
    await staff_restock(chat, "/restock 1 3")
    await staff_restock(chat, "/restock 1 2")
    await chat.deliveries_done()

    await chat.send_one(ALICE, "/resume 1")
    await chat.deliveries_done()

    assert chat.api.received(ALICE.id, BACK) == 1
    assert await rows(
        engine, "SELECT status::text FROM notifications WHERE chat_id = :chat", chat=ALICE.id
    ) == [("sent",)]
