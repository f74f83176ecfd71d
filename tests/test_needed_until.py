"""Only needed until (/until and the buttons after reserving), through real Updates: a
reservation still in line lapses when its day ends in shop time (the reader told once),
and a copy set aside is kept no later than that end."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.database import create_session_factory
from bot.holds.policy import HoldPolicy
from bot.line.lapses import LapseStep
from bot.line.needed_until import months_after
from bot.line.upkeep import LineUpkeep, StepReport
from bot.services import Services, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests import readers
from tests.chat import ADMIN, ALICE, BOB, Chat, catalog_message
from tests.conftest import HOLD_SHOP, SHOP_ZONE, bot_application, running
from tests.db import add_books, rows, snapshot
from tests.fake_telegram import FakeBotApi

BERLIN = ZoneInfo(SHOP_ZONE)
LAPSED = "🗓 Your reservation #1 for <b>Dune</b> by Frank Herbert has ended"
OFFER = "📦 A copy of <b>Dune</b> by Frank Herbert is set aside for you until "
SPANS = ["Until: 2 weeks", "Until: 1 month", "Until: 3 months"]
# Digits of another script: isdigit() takes them, a date must not.
FULLWIDTH_DIGITS = {ord(digit): ord(digit) + 0xFEE0 for digit in "0123456789"}


@dataclass
class ShopClock:
    """The clock the line's rules read today from; a test moves it across midnight."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    @property
    def today(self) -> date:
        return self.now.astimezone(BERLIN).date()

    def at(self, day: date, moment: time) -> None:
        self.now = datetime.combine(day, moment, BERLIN)


def shown(day: date) -> str:
    """A day as the English texts write it."""
    return format_date(day, "medium", locale="en")


def day_end(day: date) -> datetime:
    """The end of the day in the shop's time: the next midnight in Berlin."""
    return datetime.combine(day + timedelta(days=1), time(0), BERLIN)


@pytest.fixture
def clock() -> ShopClock:
    return ShopClock(datetime.now(UTC))


@pytest.fixture
async def line(services: Services, engine: AsyncEngine, clock: ShopClock) -> Services:
    """Services on empty tables under hold_in_line in Berlin, on the test's clock."""
    return build_services(engine, TelegramMessages(), HOLD_SHOP, clock)


@pytest.fixture
async def line_chat(line: Services, api: FakeBotApi) -> AsyncIterator[Chat]:
    async with running(bot_application(line, api)) as application:
        yield Chat(application, api)


async def needed_until(engine: AsyncEngine) -> list[tuple[str, date | None]]:
    return await rows(engine, "SELECT status::text, needed_until FROM pre_bookings ORDER BY id")


async def test_a_reservation_lapses_when_its_day_ends_and_the_reader_is_told_once(
    line_chat: Chat, line: Services, engine: AsyncEngine, clock: ShopClock
) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB):
        await line_chat.send_one(reader, "/reserve 1")
    today = clock.today
    set_today = await line_chat.send_one(ALICE, f"/until 1 {today.isoformat()}")
    await line_chat.send_one(BOB, f"/until 2 {(today + timedelta(days=1)).isoformat()}")
    listing = await line_chat.send_one(ALICE, "/myreservations")

    # The last second of the day: still needed.
    clock.at(today, time(23, 59, 59))
    await line.line_upkeep.sweep()
    await line_chat.deliveries_done()
    assert await needed_until(engine) == [
        ("waiting", today),
        ("waiting", today + timedelta(days=1)),
    ]
    # The day is over in shop time: Alice's reservation lapses, Bob's (tomorrow) waits.
    clock.at(today + timedelta(days=1), time(0, 0, 1))
    report = await line.line_upkeep.sweep()
    await line_chat.deliveries_done()
    # A second pass (and the loop's own) tells her nothing more.
    again = await line.line_upkeep.sweep()
    await line_chat.deliveries_done()

    assert set_today.text == (
        f"Reservation #1 for <b>Dune</b> by Frank Herbert is only needed until {shown(today)}. "
        "If it is still waiting when that day ends, it ends too, and I'll tell you."
    )
    assert f"needed until {shown(today)}" in listing.text
    assert report.line["lapsed"] + again.line["lapsed"] <= 1  # the loop may have been first
    assert again.line["lapsed"] == 0
    assert await rows(
        engine, "SELECT status::text, lapsed_at IS NOT NULL FROM pre_bookings ORDER BY id"
    ) == [("lapsed", True), ("waiting", False)]
    lapsed = [text for text in line_chat.api.texts_to(ALICE.id) if text.startswith(LAPSED)]
    assert lapsed == [
        f"{LAPSED}: you needed it only until {shown(today)}. "
        "If you still want the book, reserve it again with /reserve 1."
    ]
    assert not [t for t in line_chat.api.texts_to(BOB.id) if "has ended" in t]
    assert await rows(engine, "SELECT pre_booking_id, kind FROM notifications") == [(1, "lapsed")]
    # Kept in history with its own status; Bob moved up to first in line.
    history = await line_chat.send_one(ALICE, "/myreservations")
    assert "🗓 not needed after your date, ended on" in history.text
    bobs = await line_chat.send_one(BOB, "/myreservations")
    assert "1st in line" in bobs.text
    refused = await line_chat.send_one(ALICE, "/until 1 never")
    assert refused.text.startswith("Reservation #1 has ended, so it needs no end date.")


async def test_a_paused_reservation_lapses_and_a_held_one_does_not(
    line_chat: Chat, line: Services, engine: AsyncEngine, clock: ShopClock
) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB):
        await line_chat.send_one(reader, "/reserve 1")
    await line_chat.send(ADMIN, "/restock 1 1")  # Alice's copy is set aside
    await line_chat.deliveries_done()
    today = clock.today
    for reservation_id, reader in ((1, ALICE), (2, BOB)):
        await line_chat.send_one(reader, f"/until {reservation_id} {today.isoformat()}")
    async with engine.begin() as connection:
        await connection.exec_driver_sql(
            "UPDATE pre_bookings SET status = 'paused', paused_at = now() WHERE id = 2"
        )

    clock.at(today + timedelta(days=1), time(0, 0, 1))
    await line.line_upkeep.sweep()
    await line_chat.deliveries_done()

    # The hold ends by its own (capped) deadline, through the hold expiry, not by lapsing.
    assert await needed_until(engine) == [("on_hold", today), ("lapsed", today)]
    assert [t for t in line_chat.api.texts_to(BOB.id) if "has ended" in t]
    assert not [t for t in line_chat.api.texts_to(ALICE.id) if "has ended" in t]


async def test_a_copy_set_aside_later_is_kept_no_later_than_the_days_end(
    line_chat: Chat, line: Services, engine: AsyncEngine, clock: ShopClock
) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB):
        await line_chat.send_one(reader, "/reserve 1")
    today = clock.today
    await line_chat.send_one(ALICE, f"/until 1 {today.isoformat()}")

    await line_chat.send(ADMIN, "/restock 1 2")
    await line_chat.deliveries_done()

    [(alices, alice_given), (bobs, bob_given)] = await rows(
        engine, "SELECT hold_expires_at, notified_at FROM pre_bookings ORDER BY id"
    )
    assert alices == day_end(today)  # earlier than her two days' window
    assert bobs - bob_given == timedelta(days=2)
    assert alice_given < alices
    [offer] = [t for t in line_chat.api.texts_to(ALICE.id) if t.startswith(OFFER)]
    capped = alices.astimezone(BERLIN).strftime("%a %d %b, %H:%M")
    assert offer == OFFER + f"{capped}. Show reservation #1 at the counter."


async def test_until_on_a_hold_brings_its_deadline_down_and_never_up(
    line_chat: Chat, line: Services, engine: AsyncEngine, clock: ShopClock
) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0))
    await line_chat.send_one(ALICE, "/reserve 1")
    await line_chat.send(ADMIN, "/restock 1 1")
    await line_chat.deliveries_done()
    [(window,)] = await rows(engine, "SELECT hold_expires_at FROM pre_bookings")
    today = clock.today

    later = await line_chat.send_one(ALICE, f"/until 1 {(today + timedelta(days=30)).isoformat()}")
    assert await rows(engine, "SELECT hold_expires_at FROM pre_bookings") == [(window,)]
    capped = await line_chat.send_one(ALICE, f"/until 1 {today.isoformat()}")
    cleared = await line_chat.send_one(ALICE, "/until 1 never")

    assert await rows(engine, "SELECT hold_expires_at, needed_until FROM pre_bookings") == [
        (day_end(today), None)
    ]
    assert "kept for you until" in later.text
    deadline = day_end(today).strftime("%a %d %b, %H:%M")
    assert capped.text == (
        f"Reservation #1 for <b>Dune</b> by Frank Herbert is only needed until {shown(today)}. "
        f"The copy set aside is kept for you until {deadline}."
    )
    assert cleared.text.startswith("Reservation #1 for <b>Dune</b> by Frank Herbert has no end")


async def test_the_buttons_after_reserving_set_the_day_and_replace_it(
    line_chat: Chat, line: Services, engine: AsyncEngine, clock: ShopClock
) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    confirmation = await line_chat.send_one(ALICE, "/reserve 1")
    today = clock.today

    assert [label for label, _ in line_chat.current_buttons(confirmation)] == SPANS
    month = await line_chat.press(ALICE, "Until: 1 month", confirmation)
    assert await needed_until(engine) == [("waiting", months_after(today, 1))]
    await line_chat.press(ALICE, "Until: 2 weeks", confirmation)
    assert await needed_until(engine) == [("waiting", today + timedelta(weeks=2))]

    answers = [r.params.get("text") for r in month if r.method == "answerCallbackQuery"]
    assert answers == [f"Only needed until {shown(months_after(today, 1))}"]
    said = [r.text for r in month if r.method == "sendMessage"]
    assert said == [
        f"Reservation #1 for <b>Dune</b> by Frank Herbert is only needed until "
        f"{shown(months_after(today, 1))}. If it is still waiting when that day ends, "
        "it ends too, and I'll tell you."
    ]
    listing = await line_chat.send_one(ALICE, "/myreservations")
    assert f"needed until {shown(today + timedelta(weeks=2))}" in listing.text

    # Reserving from the catalog's button: the confirmation carries them too.
    pressed = await line_chat.press_data(ALICE, "r:2", catalog_message(ALICE))
    [sent] = [r for r in pressed if r.method == "sendMessage"]
    assert [label for label, _ in line_chat.current_buttons(sent)] == SPANS
    await line_chat.press(ALICE, "Until: 3 months", sent)
    assert (await needed_until(engine))[1] == ("waiting", months_after(today, 3))


def test_a_month_after_a_long_month_ends_on_the_shorter_ones_last_day() -> None:
    assert months_after(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert months_after(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert months_after(date(2026, 12, 7), 1) == date(2027, 1, 7)


async def test_never_clears_the_day(line_chat: Chat, line: Services, engine: AsyncEngine) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0))
    await line_chat.send_one(ALICE, "/reserve 1")
    await line_chat.send_one(ALICE, "/until 1 2999-01-01")
    assert await needed_until(engine) == [("waiting", date(2999, 1, 1))]

    cleared = await line_chat.send_one(ALICE, "/until #1 NEVER")

    assert await needed_until(engine) == [("waiting", None)]
    assert cleared.text == (
        "Reservation #1 for <b>Dune</b> by Frank Herbert has no end date now: "
        "it waits as long as it takes."
    )
    listing = await line_chat.send_one(ALICE, "/myreservations")
    assert "needed until" not in listing.text


async def test_a_past_day_or_bad_input_is_refused_and_nothing_is_written(
    line_chat: Chat, line: Services, engine: AsyncEngine, clock: ShopClock
) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await line_chat.send_one(ALICE, "/reserve 1")
    await line_chat.send_one(ALICE, "/reserve 2")
    await line_chat.send_one(ALICE, "/cancel 2")
    await line_chat.send_one(BOB, "/start")
    yesterday = clock.today - timedelta(days=1)
    before = await snapshot(engine)

    past = await line_chat.send_one(ALICE, f"/until 1 {yesterday.isoformat()}")
    usages = [
        await line_chat.send_one(ALICE, command)
        for command in (
            "/until",
            "/until 1",
            "/until 1 2026-02-30",
            "/until 1 26-12-24",
            "/until 1 2026-12-24T10:00",
            "/until 1 tomorrow",
            "/until x 2999-01-01",
            "/until 1 2999-01-01 extra",
            "/until 1 " + "2026-12-24".translate(FULLWIDTH_DIGITS),
        )
    ]
    missing = await line_chat.send_one(ALICE, "/until 99 2999-01-01")
    anothers = await line_chat.send_one(BOB, "/until 1 2999-01-01")
    ended = await line_chat.send_one(ALICE, "/until 2 2999-01-01")

    assert await snapshot(engine) == before
    assert past.text == (
        f"{shown(yesterday)} has already passed (today is {shown(clock.today)} in the "
        "shop's time). Choose today or a later day, or never."
    )
    for usage in usages:
        assert usage.text.startswith("Usage: /until &lt;reservation id&gt; &lt;YYYY-MM-DD&gt;")
    assert missing.text.startswith("You have no reservation #99")
    assert anothers.text.startswith("You have no reservation #1")
    assert ended.text.startswith("Reservation #2 has ended")


async def test_a_bad_until_button_changes_nothing(
    line_chat: Chat, line: Services, engine: AsyncEngine
) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0))
    confirmation = await line_chat.send_one(ALICE, "/reserve 1")
    await line_chat.send_one(BOB, "/start")
    before = await snapshot(engine)

    forged = ["u:1", "u:1:", "u:1:9y", "u:1:2W", "u:x:2w", "u:0:2w", "u:1:2w:1", "u::2w"]
    forged += ["u:1:1m ", "u:99999999999999999999:2w", "u:-1:2w"]
    answers = []
    for data in forged:
        replies = await line_chat.press_data(ALICE, data, confirmation)
        answers += [r.params.get("text", "") for r in replies if r.method == "answerCallbackQuery"]
    anothers = await line_chat.press_data(BOB, "u:1:2w", confirmation)
    missing = await line_chat.press_data(ALICE, "u:99:2w", confirmation)

    assert await snapshot(engine) == before
    assert len(answers) == len(forged)
    assert all(answer.startswith("That button is out of date.") for answer in answers)
    for replies in (anothers, missing):
        [alert] = [r for r in replies if r.method == "answerCallbackQuery"]
        assert alert.params["text"].startswith("You have no reservation #")


async def test_under_notify_all_a_lapsed_reader_is_not_told_the_book_is_back(
    services: Services, engine: AsyncEngine, api: FakeBotApi, clock: ShopClock
) -> None:
    notify_all = build_services(
        engine, TelegramMessages(), replace(HOLD_SHOP, policy=HoldPolicy()), clock
    )
    await add_books(notify_all, ("Dune", "Frank Herbert", 0))
    async with running(bot_application(notify_all, api)) as application:
        chat = Chat(application, api)
        for reader in (ALICE, BOB):
            await chat.send_one(reader, "/reserve 1")
        await chat.send_one(ALICE, f"/until 1 {clock.today.isoformat()}")
        clock.at(clock.today + timedelta(days=1), time(0, 0, 1))
        await notify_all.line_upkeep.sweep()
        await chat.send(ADMIN, "/restock 1 3")
        await chat.deliveries_done()

    assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
        ("lapsed",),
        ("notified",),
    ]
    assert [t for t in api.texts_to(BOB.id) if "back in stock" in t]
    assert [t[:20] for t in api.texts_to(ALICE.id) if t.startswith(("🗓", "📚"))] == [LAPSED[:20]]


async def test_two_processes_lapse_each_reservation_once(
    services: Services, engine: AsyncEngine, clock: ShopClock
) -> None:
    """Two bot processes' loops at once, over more books than one batch: each book is
    taken by one of them (SKIP LOCKED), each reservation lapses once, with one message."""
    books, yesterday = 450, clock.today - timedelta(days=1)
    await add_books(services, *[(f"Book {n}", "Someone", 0) for n in range(books)])
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, first_name) "
                "SELECT n, n, 'Reader' FROM generate_series(1, 2) AS n"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (user_id, book_id, needed_until) "
                "SELECT users.id, books.id, :day FROM users CROSS JOIN books"
            ),
            {"day": yesterday},
        )
    processes = [build_services(engine, TelegramMessages(), HOLD_SHOP, clock) for _ in "ab"]

    async def loop(line: Services) -> int:
        lapsed = 0
        while True:
            report = await line.line_upkeep.sweep()
            lapsed += report.line["lapsed"]
            if not report.more:
                return lapsed

    counts = await asyncio.gather(*(loop(line) for line in processes))

    assert sum(counts) == 2 * books
    assert await rows(
        engine, "SELECT status::text, count(*) FROM pre_bookings GROUP BY status"
    ) == [("lapsed", 2 * books)]
    assert await rows(
        engine,
        "SELECT kind, count(DISTINCT pre_booking_id), count(*) FROM notifications GROUP BY kind",
    ) == [("lapsed", 2 * books, 2 * books)]
    assert await rows(engine, "SELECT count(*) FROM books WHERE line_moved_at IS NULL") == [(0,)]


async def test_under_notify_all_a_reader_whose_day_is_over_is_not_told_before_lapsing(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Between the end of a reader's day and the line's next pass (a second, or longer
    while the loop is held up), a restock passes them over, as hold_in_line does: they
    are not told of a book they no longer need, and lapse as their day says."""
    # The line's loop still on yesterday (it has not run since midnight); the database,
    # whose clock the restock reads, on today.
    clock = ShopClock(datetime.now(UTC) - timedelta(days=1))
    notify_all = build_services(
        engine, TelegramMessages(), replace(HOLD_SHOP, policy=HoldPolicy()), clock
    )
    await add_books(notify_all, ("Dune", "Frank Herbert", 0))
    async with running(bot_application(notify_all, api)) as application:
        chat = Chat(application, api)
        for reader in (ALICE, BOB):
            await chat.send_one(reader, "/reserve 1")
        await chat.send_one(ALICE, f"/until 1 {clock.today.isoformat()}")
        await chat.send(ADMIN, "/restock 1 3")
        await chat.deliveries_done()
        assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
            ("waiting",),
            ("notified",),
        ]
        # The loop's next pass, now on today: she lapses, told once.
        clock.now += timedelta(days=1)
        await notify_all.line_upkeep.sweep()
        await chat.deliveries_done()

    assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
        ("lapsed",),
        ("notified",),
    ]
    assert [t[:20] for t in api.texts_to(ALICE.id) if t.startswith(("🗓", "📚"))] == [LAPSED[:20]]


class BrokenStep:
    """A step whose every pass fails, as one with a bug (or a lost table) would."""

    async def run(self) -> StepReport:
        raise RuntimeError("this step is broken")


async def test_a_failing_step_does_not_stop_the_others(
    line: Services, engine: AsyncEngine, clock: ShopClock
) -> None:
    await add_books(line, ("Dune", "Frank Herbert", 0))
    await line.reservations.reserve(readers.ALICE, 1)
    await line.needed_until.set_needed_until(readers.ALICE, 1, clock.today)
    clock.at(clock.today + timedelta(days=1), time(0, 0, 1))
    upkeep = LineUpkeep(
        line.hold_sweeper,
        {
            "broken": BrokenStep(),
            "lapsed": LapseStep(create_session_factory(engine), BERLIN, TelegramMessages(), clock),
        },
    )

    report = await upkeep.sweep()

    assert report.line == {"lapsed": 1}
    assert await rows(engine, "SELECT status::text FROM pre_bookings") == [("lapsed",)]
