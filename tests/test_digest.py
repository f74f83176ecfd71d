# ruff: noqa: RUF001 (Russian text is Cyrillic on purpose)
"""The staff's weekly digest (issue 22, item 4), through real Updates and the real
Application: DIGEST_AT sends every staff member one digest a period, however many
processes and restarts (the database decides), not before its minute, again the next week,
never when unset; /digest shows it now, to staff only, within Telegram's limit."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.models import AUTHOR_MAX_LENGTH, TITLE_MAX_LENGTH
from bot.books.schemas import BookView
from bot.config import SettingsError, load_settings
from bot.demand.schemas import BookDemand
from bot.digest.schemas import Digest, EndingHold, FailedMessages
from bot.i18n import languages
from bot.notifications.models import NotificationKind
from bot.opening_hours import WeeklyTime
from bot.services import Services, Shop, build_services
from bot.special_orders.schemas import OpenRequest
from bot.telegram.context import SERVICES
from bot.telegram.lengths import MESSAGE_LIMIT
from bot.telegram.reader_messages import TelegramMessages
from bot.telegram.texts.deliveries import MESSAGE_KINDS
from bot.telegram.texts.formatting import as_plain, plain_length
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat, Person
from tests.conftest import HOLD_SHOP, SHOP_ZONE, bot_application, running
from tests.db import add_books, rows, snapshot
from tests.fake_telegram import FakeBotApi
from tests.test_lengths import telegram_accepts

BERLIN = ZoneInfo(SHOP_ZONE)
# Staff who speak Russian with the bot, and staff who never opened it.
IRINA = Person(9002, "Ирина", "irina", language_code="ru")
NEWCOMER = 9003
STAFF = frozenset({ADMIN.id, IRINA.id, NEWCOMER})
DAN = Person(1004, "Dan")
MONDAY = date(2027, 3, 1)
DIGEST_SHOP = replace(HOLD_SHOP, admin_ids=STAFF, digest_at=WeeklyTime.parse("Mo 09:00"))
REFUSED = "Sorry, only the bookstore's staff can do that."


class ShopClock:
    """The clock the line's loop reads now from; a test moves it through the week."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: date, moment: time) -> None:
        self.now = datetime.combine(day, moment, BERLIN)


@pytest.fixture
async def fresh(services: Services, engine: AsyncEngine) -> None:
    """Empty tables, the digest's and the special orders' too."""
    async with engine.begin() as connection:
        await connection.execute(
            text("TRUNCATE staff_digests, book_request_readers, book_requests RESTART IDENTITY")
        )


@pytest.fixture
def clock() -> ShopClock:
    return ShopClock(datetime.combine(MONDAY, time(8, 0), BERLIN))


def process(engine: AsyncEngine, clock: ShopClock, shop: Shop = DIGEST_SHOP) -> Services:
    """One bot process's services, on the test's clock."""
    return build_services(engine, TelegramMessages(), shop, clock)


async def digests(engine: AsyncEngine) -> list[tuple[datetime, int]]:
    return await rows(engine, "SELECT due_at, recipients FROM staff_digests ORDER BY due_at")


async def queued(engine: AsyncEngine) -> list[tuple[int, str]]:
    """The digests in the outbox: to which chat, and the first line."""
    found = await rows(engine, "SELECT chat_id, text FROM notifications WHERE kind = 'digest'")
    return sorted((chat_id, body.split("\n")[0]) for chat_id, body in found)


async def sweep(*processes: Services) -> None:
    """Each process's line loop makes a pass, all at once (their own loops run too)."""
    await asyncio.gather(*(line.line_upkeep.sweep() for line in processes))


async def talk_to_the_bot(chat: Chat) -> None:
    """Staff who have opened the bot: Dana in English, Irina in Russian."""
    await chat.send(ADMIN, "/start")
    await chat.send(IRINA, "/start")


async def test_the_digest_goes_out_once_with_two_processes_and_a_restart(
    fresh: None, engine: AsyncEngine, clock: ShopClock, api: FakeBotApi
) -> None:
    first, second = process(engine, clock), process(engine, clock)
    due = datetime.combine(MONDAY, time(9, 0), BERLIN)
    async with running(bot_application(second, api, name="b")) as other:
        chat = Chat(other, api)
        await talk_to_the_bot(chat)
        async with running(bot_application(first, api, name="a")):
            # A second before the minute: nothing, in either process.
            clock.at(MONDAY, time(8, 59, 59))
            await sweep(first, second)
            assert await digests(engine) == []
            # The minute: both processes find it due at once; one queues it.
            clock.at(MONDAY, time(9, 0))
            await sweep(first, second)
            await sweep(first, second)
        # A restart within the minute: a new process, which remembers nothing.
        restarted = process(engine, clock)
        async with running(bot_application(restarted, api, name="c")):
            clock.at(MONDAY, time(9, 0, 30))
            await sweep(restarted, second)
            await chat.deliveries_done()
            assert await digests(engine) == [(due, 3)]
            assert [chat_id for chat_id, _ in await queued(engine)] == sorted(STAFF)
            for staff_id in STAFF:
                assert len([sent for sent in api.texts_to(staff_id) if "📰" in sent]) == 1
            # Each in their language; the newcomer's chat is their Telegram id.
            assert api.texts_to(IRINA.id)[-1].startswith("📰 <b>Сводка</b> на ")
            assert api.texts_to(ADMIN.id)[-1].startswith("📰 <b>Digest</b> of ")
            assert api.texts_to(NEWCOMER)[-1].startswith("📰 <b>Digest</b> of ")

            # The next day and the rest of the week: nothing more.
            clock.at(MONDAY + timedelta(days=1), time(9, 0))
            await sweep(restarted, second)
            clock.at(MONDAY + timedelta(days=7), time(8, 59))
            await sweep(restarted, second)
            assert len(await digests(engine)) == 1

            # The next week's minute: once more, to each.
            clock.at(MONDAY + timedelta(days=7), time(9, 0))
            await sweep(restarted, second)
            await sweep(restarted, second)
            await chat.deliveries_done()
    assert await digests(engine) == [
        (due, 3),
        (datetime.combine(MONDAY + timedelta(days=7), time(9, 0), BERLIN), 3),
    ]
    assert len(await queued(engine)) == 6
    for staff_id in STAFF:
        assert len([sent for sent in api.texts_to(staff_id) if "📰" in sent]) == 2


async def test_a_bot_back_within_a_day_sends_it_then_not_later(
    fresh: None, engine: AsyncEngine, clock: ShopClock
) -> None:
    """Down at the minute, back the same evening: sent then. Back after more than a
    day: that week's is skipped (days late, it would mislead), the next goes out."""
    clock.at(MONDAY, time(20, 0))
    await process(engine, clock).line_upkeep.sweep()
    assert [due for due, _ in await digests(engine)] == [
        datetime.combine(MONDAY, time(9, 0), BERLIN)
    ]
    clock.at(MONDAY + timedelta(days=8), time(9, 1))
    await process(engine, clock).line_upkeep.sweep()
    assert len(await digests(engine)) == 1
    clock.at(MONDAY + timedelta(days=14), time(9, 0))
    await process(engine, clock).line_upkeep.sweep()
    assert len(await digests(engine)) == 2


async def test_a_clock_set_back_within_the_day_sends_it(
    fresh: None, engine: AsyncEngine, clock: ShopClock
) -> None:
    """A clock days ahead finds the week's digest too late; set right (NTP steps it back
    to Monday morning), the same process sends it: a period skipped as too late is not
    remembered as done."""
    bot = process(engine, clock)
    clock.at(MONDAY + timedelta(days=3), time(9, 0))
    await bot.line_upkeep.sweep()
    assert await digests(engine) == []
    clock.at(MONDAY, time(9, 5))
    await bot.line_upkeep.sweep()
    assert [due for due, _ in await digests(engine)] == [
        datetime.combine(MONDAY, time(9, 0), BERLIN)
    ]


async def test_no_digest_without_digest_at(
    fresh: None, engine: AsyncEngine, clock: ShopClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_AT", " ")
    monkeypatch.setenv("ADMIN_IDS", str(ADMIN.id))
    shop = Shop.from_settings(load_settings())
    assert shop.digest_at is None
    clock.at(MONDAY, time(9, 0))
    off = process(engine, clock, shop)
    report = await off.line_upkeep.sweep()
    assert "digests" not in report.line
    assert await digests(engine) == []
    assert await queued(engine) == []


def test_digest_at_is_read_in_the_shops_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_AT", "Fr 17:30")
    assert Shop.from_settings(load_settings()).digest_at == WeeklyTime(4, time(17, 30))


@pytest.mark.parametrize("value", ["Monday 09:00", "Mo 9", "Mo 24:00", "Xx 09:00", "09:00"])
def test_a_bad_digest_at_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DIGEST_AT", value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value) == (
        "invalid configuration: DIGEST_AT: is not a day of the week and a time, such as "
        "Mo 09:00 (days: Mo Tu We Th Fr Sa Su; the time HH:MM, in the shop's TIMEZONE)"
    )


def test_a_time_the_clocks_skip_or_repeat_is_one_instant() -> None:
    """Berlin: 02:00 → 03:00 on 28 March 2027, 03:00 → 02:00 on 31 October 2027 (Sundays)."""
    at_half_past_two = WeeklyTime.parse("Su 02:30")
    spring = datetime(2027, 3, 28, 12, tzinfo=UTC)
    autumn = datetime(2027, 10, 31, 12, tzinfo=UTC)
    # Skipped: an hour later (03:30 summer time); repeated: the first (summer time).
    assert at_half_past_two.latest(spring, BERLIN) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert at_half_past_two.latest(autumn, BERLIN) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    # Just before: the week before.
    assert at_half_past_two.latest(datetime(2027, 3, 28, 1, 29, tzinfo=UTC), BERLIN) == (
        datetime(2027, 3, 21, 1, 30, tzinfo=UTC)
    )


@pytest.fixture
async def staff_chat(fresh: None, engine: AsyncEngine, api: FakeBotApi) -> AsyncIterator[Chat]:
    """The bot under hold_in_line in Berlin, staffed, on the system clock."""
    staffed = build_services(engine, TelegramMessages(), replace(HOLD_SHOP, admin_ids=STAFF))
    async with running(bot_application(staffed, api)) as application:
        yield Chat(application, api)


async def test_digest_shows_orders_requests_holds_ending_and_failures(
    staff_chat: Chat, engine: AsyncEngine
) -> None:
    chat = staff_chat
    services: Services = chat.application.bot_data[SERVICES]
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    for reader in (ALICE, BOB, CAROL, DAN):
        await chat.send(reader, "/reserve 1")
    await chat.send(ALICE, "/reserve 2")
    await chat.send(ADMIN, "/restock 2 1")  # Alice's copy set aside
    await chat.deliveries_done()
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET hold_expires_at = now() + interval '20 hours' "
                "WHERE status = 'on_hold'"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO book_requests (title, author, match_key) VALUES "
                "('The Name of the Wind', 'Patrick Rothfuss', 'words:name of the wind')"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO book_request_readers (request_id, user_id) "
                "SELECT 1, id FROM users WHERE telegram_id IN (:alice, :bob) ORDER BY id"
            ),
            {"alice": ALICE.id, "bob": BOB.id},
        )
        # Failed this week: one refused, one to a reader who blocked the bot, a digest
        # to a chat gone; and one a week and a day ago, not counted.
        await connection.execute(
            text(
                "INSERT INTO notifications "
                "(pre_booking_id, kind, chat_id, text, status, reader_unreachable, "
                "next_attempt_at) VALUES "
                "(1001, 'back_in_stock', 1, 'x', 'failed', false, now() - interval '1 day'), "
                "(1002, 'back_in_stock', 2, 'x', 'failed', true, now()), "
                "(NULL, 'digest', 3, 'x', 'failed', false, now() - interval '6 days'), "
                "(1003, 'hold_offer', 4, 'x', 'failed', false, now() - interval '8 days')"
            )
        )
    (until,) = (await rows(engine, "SELECT hold_expires_at FROM pre_bookings WHERE id = 5"))[0]
    deadline = format_datetime(until, "EEE dd MMM, HH:mm", tzinfo=BERLIN, locale="en")

    digest = await chat.send_one(ADMIN, "/digest")

    heading, rest = digest.text.split("\n", 1)
    assert heading.startswith("📰 <b>Digest</b> of ")
    assert rest == (
        "\n"
        "🛒 <b>To order</b>, for at most 3 readers a copy (/demand):\n"
        "#1 <b>Dune</b> by Frank Herbert: order 2 (4 readers, 0 in stock)\n"
        "\n"
        "📝 <b>Special orders</b> readers wait on (/requests):\n"
        "#1 <b>The Name of the Wind</b> by Patrick Rothfuss: 2 readers\n"
        "\n"
        "⏳ <b>Holds ending</b> within 24 hours:\n"
        f"#5 <b>Emma</b> by Jane Austen, until {deadline}\n"
        "\n"
        "❌ <b>Messages failed</b> in the last 7 days:\n"
        "📚 Back in stock: 1 failed, 1 to a reader who blocked the bot\n"
        "📰 Staff digests: 1 failed"
    )
    # In Russian for staff who speak it.
    await chat.send(IRINA, "/start")
    russian = await chat.send_one(IRINA, "/digest")
    assert "#1 <b>Dune</b>, Frank Herbert: заказать 2 (4 читателя, в наличии 0)" in russian.text


async def test_failed_special_order_messages_are_named_in_the_staffs_language(
    staff_chat: Chat, engine: AsyncEngine
) -> None:
    """A special order's "ordered" and "declined" messages that failed are named as the
    other kinds are, in the staff member's language, not by their code."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO notifications "
                "(request_reader_id, kind, chat_id, text, status, next_attempt_at) VALUES "
                "(1, 'ordered', 1, 'x', 'failed', now()), "
                "(2, 'declined', 2, 'x', 'failed', now()), "
                "(3, 'declined', 3, 'x', 'failed', now())"
            )
        )
    english = await staff_chat.send_one(ADMIN, "/digest")
    assert english.text.split("\n\n")[-1].split("\n")[1:] == [
        "📭 Special orders declined: 2 failed",
        "📦 Special orders ordered: 1 failed",
    ]
    await staff_chat.send(IRINA, "/start")
    russian = await staff_chat.send_one(IRINA, "/digest")
    assert russian.text.split("\n\n")[-1].split("\n")[1:] == [
        "📭 Отказы по запросам: 2 не доставлено",
        "📦 Заказанные по запросам: 1 не доставлено",
    ]
    # Every kind has its name (a kind added later too).
    assert set(MESSAGE_KINDS) == {kind.value for kind in NotificationKind}


async def test_messages_given_up_after_a_long_outage_count_as_failed_now(
    fresh: None, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Queued ten days ago and never tried (the bot down, or Telegram away, meanwhile),
    given up for their age as the bot comes back: they failed now, and the digest says
    so."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO notifications "
                "(pre_booking_id, kind, chat_id, text, created_at, next_attempt_at) "
                "SELECT n, 'back_in_stock', n, 'x', now() - interval '10 days', "
                "now() - interval '10 days' FROM generate_series(1, 2) AS n"
            )
        )
    staffed = build_services(engine, TelegramMessages(), replace(HOLD_SHOP, admin_ids=STAFF))
    assert await staffed.outbox.give_up_older_than(timedelta(days=3)) == 2
    async with running(bot_application(staffed, api)) as application:
        digest = await Chat(application, api).send_one(ADMIN, "/digest")
    assert digest.text.split("\n\n")[-1] == (
        "❌ <b>Messages failed</b> in the last 7 days:\n📚 Back in stock: 2 failed"
    )


async def test_an_empty_digest_says_so(staff_chat: Chat) -> None:
    digest = await staff_chat.send_one(ADMIN, "/digest")
    assert digest.text.split("\n\n")[1:] == [
        "🛒 Nothing to order.",
        "📝 No open special orders.",
        "⏳ No holds ending soon.",
        "✅ No message failed in the last 7 days.",
    ]


async def test_digest_is_refused_to_readers(staff_chat: Chat, engine: AsyncEngine) -> None:
    await staff_chat.send(ALICE, "/start")
    before = await snapshot(engine)
    refused = await staff_chat.send_one(ALICE, "/digest")
    assert refused.text == REFUSED
    assert await snapshot(engine) == before


async def test_a_long_digest_is_cut_to_telegrams_limit(
    staff_chat: Chat, engine: AsyncEngine
) -> None:
    """60 books to order and 60 requests, each with the longest title and author, in
    letters that count twice in UTF-16: each list says how many it leaves out."""
    services: Services = staff_chat.application.bot_data[SERVICES]
    books = 60
    for number in range(books):
        await services.books.add_book(
            ADMIN.id,
            f"{number} " + "𝔇" * (TITLE_MAX_LENGTH - 3),
            "𝔄" * AUTHOR_MAX_LENGTH,
            0,
        )
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, first_name) "
                "SELECT n, n, 'Reader' FROM generate_series(1, 3) AS n"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (user_id, book_id) "
                "SELECT users.id, books.id FROM users, books"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO book_requests (title, author, match_key) "
                "SELECT n || repeat('𝔇', 250), repeat('<&>', 80), 'words:' || n "
                "FROM generate_series(1, :books) AS n"
            ),
            {"books": books},
        )
        await connection.execute(
            text(
                "INSERT INTO book_request_readers (request_id, user_id) "
                "SELECT r.id, u.id FROM book_requests r, users u"
            )
        )

    digest = await staff_chat.send_one(ADMIN, "/digest")

    assert plain_length(digest.text) <= MESSAGE_LIMIT
    sections = as_plain(digest.text).split("\n\n")
    assert [section[0] for section in sections] == ["📰", "🛒", "📝", "⏳", "✅"]
    for section in sections[1:3]:
        lines = section.split("\n")
        listed = len(lines) - 2
        assert 1 <= listed < books
        assert lines[-1] == f"… and {books - listed} more"
    # HTML whole: every entry escaped, no tag cut.
    assert "&lt;&amp;&gt;" in digest.text


@pytest.mark.parametrize("language", languages.SUPPORTED)
def test_the_longest_digest_fits_in_every_language(language: str) -> None:
    """Every list full of the longest names and counts past a billion: cut to fit, its
    HTML whole, in each language."""
    now = datetime.combine(MONDAY, time(9, 0), BERLIN)
    title, author = "𝔇<&>" * (TITLE_MAX_LENGTH // 4), "𝔄&" * (AUTHOR_MAX_LENGTH // 2)
    big = 10**9
    worst = Digest(
        now,
        tuple(
            BookDemand(BookView(big + n, title, author, big), big, now, (), suggested_order=big)
            for n in range(100)
        ),
        0.1,
        tuple(OpenRequest(big + n, title, author, None, big, now) for n in range(100)),
        tuple(EndingHold(big + n, big, title, author, now) for n in range(100)),
        timedelta(days=1),
        tuple(FailedMessages(kind.value, big, big // 2) for kind in NotificationKind),
        timedelta(days=7),
    )
    written = TelegramMessages().digest(worst, language)
    assert plain_length(written) <= MESSAGE_LIMIT
    assert telegram_accepts(written)
    assert written.count("\n\n") == 4  # every section is there
