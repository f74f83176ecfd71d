# ruff: noqa: RUF001 (Russian text is Cyrillic on purpose)
"""Withdrawn books (issue 21, item 7): staff's /withdraw cancels the book's whole line
(waiting and paused readers) with the reason, tells each reader in their language
through the outbox, and the book shows as withdrawn and cannot be reserved; copies on
hold stay; a restock that brings copies makes it available again."""

import asyncio
import time
from contextlib import AsyncExitStack

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.models import AUTHOR_MAX_LENGTH, TITLE_MAX_LENGTH
from bot.services import Services
from bot.telegram.lengths import MESSAGE_LIMIT
from bot.telegram.texts.formatting import plain_length
from tests.chat import ADMIN, ALICE, BOB, Chat, Person, catalog_message, inline_query_update
from tests.conftest import bot_application, running
from tests.db import add_books, rows, snapshot
from tests.fake_telegram import FakeBotApi
from tests.test_inline_search import results

IVAN = Person(2001, "Иван", "ivan", language_code="ru")
LUCIA = Person(2002, "Lucía", "lucia", language_code="es-419")
OLGA = Person(2004, "Olga", language_code="en")
PAUL = Person(2005, "Paul", language_code="de")  # paused; spoken to in English
HOLDER = Person(2006, "Hana", language_code="en")
# The longest reason staff may give (docs/staff.md).
WITHDRAWAL_REASON_MAX_LENGTH = 200

REASON = "out of print <for good> & gone"
ESCAPED = "out of print &lt;for good&gt; &amp; gone"
RU_MESSAGE = (
    f"📕 К сожалению, книгу <b>Dune</b>, Frank Herbert сняли с продажи ({ESCAPED}), "
    "поэтому ваша бронь отменена. Отправьте /books, чтобы найти другую книгу."
)
ES_MESSAGE = (
    f"📕 Lo sentimos: <b>Dune</b>, de Frank Herbert se ha retirado ({ESCAPED}), así que "
    "su reserva queda cancelada. Envíe /books para buscar otro libro."
)
EN_MESSAGE = (
    f"📕 Sorry: <b>Dune</b> by Frank Herbert has been withdrawn ({ESCAPED}), so I "
    "cancelled your reservation. Send /books to find another book."
)
REFUSED = f"<b>Dune</b> by Frank Herbert has been withdrawn ({ESCAPED}): it can't be reserved."


async def test_a_withdrawal_with_readers_in_three_languages(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    """Under hold_in_line: the first reader has a copy on hold and keeps it; the Russian,
    Spanish and English readers waiting and a paused one are cancelled and told, each in
    their language; /deliveries counts the notices."""
    chat = hold_chat
    await add_books(hold_services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await chat.send_one(HOLDER, "/reserve 1")
    await chat.send_one(IVAN, "/reserve 1")
    await chat.send_one(LUCIA, "/reserve 1")
    await chat.send_one(PAUL, "/reserve 1")
    await chat.send_one(OLGA, "/reserve 1")
    await chat.send_one(OLGA, "/reserve 2")  # another book's line is not touched
    assert (await chat.send_one(PAUL, "/pause 4")).text.startswith("⏸ Paused reservation #4")
    await chat.send(ADMIN, "/restock 1 1")
    await chat.deliveries_done()
    assert await rows(engine, "SELECT status::text FROM pre_bookings WHERE id = 1") == [
        ("on_hold",)
    ]

    staff = await chat.send_one(ADMIN, f"/withdraw 1 {REASON}")
    await chat.deliveries_done()

    assert staff.text == (
        f"#1 <b>Dune</b> by Frank Herbert is withdrawn: {ESCAPED}. Cancelled 4 waiting or "
        "paused reservations: 4 messages queued. Follow them with /deliveries 1. 1 copy on "
        "hold stays until collected or expired. A restock that brings copies makes it "
        "available again."
    )
    assert chat.api.texts_to(IVAN.id)[-1] == RU_MESSAGE
    assert chat.api.texts_to(LUCIA.id)[-1] == ES_MESSAGE
    assert chat.api.texts_to(OLGA.id)[-1] == EN_MESSAGE
    assert chat.api.texts_to(PAUL.id)[-1] == EN_MESSAGE
    assert not any("withdrawn" in sent for sent in chat.api.texts_to(HOLDER.id))
    assert await rows(
        engine, "SELECT id, status::text, cancel_reason FROM pre_bookings ORDER BY id"
    ) == [
        (1, "on_hold", None),
        (2, "cancelled", REASON),
        (3, "cancelled", REASON),
        (4, "cancelled", REASON),
        (5, "cancelled", REASON),
        (6, "waiting", None),
    ]
    assert await rows(
        engine,
        "SELECT kind, status::text, count(*) FROM notifications "
        "WHERE kind = 'withdrawn' GROUP BY 1, 2",
    ) == [("withdrawn", "sent", 4)]
    assert await rows(engine, "SELECT withdrawn_reason FROM books ORDER BY id") == [
        (REASON,),
        (None,),
    ]

    report = await chat.send_one(ADMIN, "/deliveries 1")
    assert report.text.startswith(
        "Messages about #1 <b>Dune</b> by Frank Herbert since its withdrawal "
    ), report.text
    assert "<b>📕 Withdrawal notices</b>\n✅ sent: 4\n⏳ pending: 0\n❌ failed: 0" in report.text

    # The copy on hold stays the holder's: collected as any other.
    collected = await chat.send_one(ADMIN, "/collected 1")
    assert "#1" in collected.text
    assert await rows(engine, "SELECT status::text FROM pre_bookings WHERE id = 1") == [
        ("collected",)
    ]
    # The reader sees why, in their language.
    mine = await chat.send_one(IVAN, "/myreservations")
    assert f"книгу сняли с продажи: {ESCAPED}" in mine.text, mine.text


async def test_a_withdrawn_book_shows_why_and_cannot_be_reserved(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    old_catalog = await chat.send_one(ALICE, "/books")
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send_one(ADMIN, f"/withdraw 1 {REASON}")
    await chat.deliveries_done()
    before = await snapshot(engine)

    reserve = await chat.send_one(BOB, "/reserve 1")
    pressed = await chat.press(BOB, "Reserve #1", old_catalog)
    again = await chat.send_one(ALICE, "/reserve 1")
    catalog = await chat.send_one(BOB, "/books")
    search = await chat.send_one(BOB, "/search dune")
    card = await chat.send_one(BOB, "/book 1")
    link = await chat.send_one(BOB, "/start book_1")
    inline = await chat.feed(inline_query_update(chat.next_update_id(), BOB, "dune"))
    mine = await chat.send_one(ALICE, "/myreservations")
    after = await snapshot(engine)

    # Bob's row as a reader is written by his first message; nothing else changed.
    assert {table: after[table] for table in after if table != "users"} == {
        table: before[table] for table in before if table != "users"
    }
    assert reserve.text == REFUSED
    assert again.text == REFUSED
    [toast] = [r for r in pressed if r.method == "answerCallbackQuery"]
    assert toast.params["text"].startswith("Dune by Frank Herbert has been withdrawn")
    for listing in (catalog, search, card, link):
        assert f"🚫 withdrawn: {ESCAPED}" in listing.text, listing.text
        assert "Reserve" not in str(listing.buttons), listing.buttons
    assert "Tap Reserve" not in catalog.text
    [answer] = [r for r in inline if r.method == "answerInlineQuery"]
    [result] = results(answer)
    assert f"🚫 withdrawn: {REASON}" in result["description"]
    assert f"🚫 withdrawn: {ESCAPED}" in result["input_message_content"]["message_text"]
    assert "Reserve it" not in result["input_message_content"]["message_text"]
    assert result["reply_markup"]["inline_keyboard"][0][0]["text"] == "Open in the bot"
    assert f"the book was withdrawn: {ESCAPED}" in mine.text
    assert "Cancel #1" not in str(mine.buttons)


async def test_a_restock_that_brings_copies_makes_it_available_again(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send_one(ADMIN, "/withdraw 1 out of print")
    await chat.deliveries_done()
    # 0 → 0 brings nothing: still withdrawn.
    same = await chat.send_one(ADMIN, "/restock 1 0")
    assert "no longer withdrawn" not in same.text
    assert (await chat.send_one(BOB, "/reserve 1")).text.endswith("it can't be reserved.")

    back = await chat.send_one(ADMIN, "/restock 1 2")
    assert back.text.endswith("It is no longer withdrawn: readers may reserve it again."), (
        back.text
    )
    assert await rows(engine, "SELECT withdrawn_at, withdrawn_reason FROM books") == [(None, None)]
    card = await chat.send_one(BOB, "/book 1")
    assert "withdrawn" not in card.text
    await chat.send_one(ADMIN, "/restock 1 0")
    reserved = await chat.send_one(BOB, "/reserve 1")
    assert reserved.text.startswith("Reserved <b>Dune</b>"), reserved.text
    # Alice's cancelled reservation stays history; she may reserve anew.
    alice = await chat.send_one(ALICE, "/reserve 1")
    assert "you are number 2 in line" in alice.text, alice.text


async def test_withdrawing_is_for_staff_only_and_changes_nothing_for_others(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    before = await snapshot(engine)
    refused = await chat.send_one(BOB, "/withdraw 1 out of print")
    bare = await chat.send_one(BOB, "/withdraw")
    after = await snapshot(engine)
    assert refused.text == "Sorry, only the bookstore's staff can do that."
    assert bare.text == refused.text  # strangers learn nothing of the command's form
    assert {t: after[t] for t in after if t != "users"} == {
        t: before[t] for t in before if t != "users"
    }
    help_text = (await chat.send_one(ADMIN, "/help")).text
    assert "/withdraw — withdraw a book" in help_text
    assert "/withdraw" not in (await chat.send_one(BOB, "/help")).text


async def test_bad_ids_a_missing_or_long_reason_and_a_second_withdrawal_change_nothing(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send_one(ADMIN, "/book 1")  # the staff member's row, written once
    before = await snapshot(engine)
    usage = (
        "Usage: /withdraw &lt;book id&gt; &lt;reason&gt;, for example /withdraw 12 out of print"
    )
    for command in (
        "/withdraw",
        "/withdraw 1",
        "/withdraw 1    ",
        "/withdraw x out of print",
        "/withdraw 0 out of print",
        "/withdraw -1 out of print",
        "/withdraw 99999999999999999999 out of print",
        "/withdraw out of print",
    ):
        reply = await chat.send_one(ADMIN, command)
        assert reply.text == usage, (command, reply.text)
    missing = await chat.send_one(ADMIN, "/withdraw 2 out of print")
    assert missing.text.startswith("There is no book #2."), missing.text
    too_long = await chat.send_one(
        ADMIN, "/withdraw 1 " + "x" * (WITHDRAWAL_REASON_MAX_LENGTH + 1)
    )
    assert too_long.text == "The reason must be between 1 and 200 characters."
    assert await snapshot(engine) == before

    first = await chat.send_one(ADMIN, "/withdraw 1   out   of print  ")
    assert "is withdrawn: out of print." in first.text  # tidied
    await chat.deliveries_done()
    withdrawn = await snapshot(engine)
    second = await chat.send_one(ADMIN, "/withdraw 1 cancelled by the publisher")
    assert second.text.startswith("#1 <b>Dune</b> by Frank Herbert is already withdrawn"), (
        second.text
    )
    assert "out of print" in second.text
    assert await snapshot(engine) == withdrawn
    assert len(chat.api.texts_to(ALICE.id)) == 2  # the reserve's reply and one notice


async def test_a_reason_at_the_length_limit_fits_everywhere(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """The longest reason, of characters outside the BMP, beside the longest title and
    author: every message shown stays within Telegram's 4096 units (the fake Telegram
    refuses anything longer or any broken HTML)."""
    fraktur = "\N{MATHEMATICAL FRAKTUR CAPITAL W}"
    title = fraktur * TITLE_MAX_LENGTH
    author = "<&>" + fraktur * (AUTHOR_MAX_LENGTH - 3)
    why = "\N{MATHEMATICAL FRAKTUR CAPITAL Y}" * (WITHDRAWAL_REASON_MAX_LENGTH - 3)
    reason = "<&>" + why
    await add_books(services, *[(f"{title[:-1]}{n}", author, 0) for n in range(1, 6)])
    for person in (IVAN, LUCIA, ALICE):
        await chat.send_one(person, "/reserve 1")
    await chat.send_one(ALICE, "/reserve 2")
    await chat.send_one(ADMIN, "/restock 2 1")
    await chat.deliveries_done()
    for book_id in range(1, 6):
        await chat.send(ADMIN, f"/withdraw {book_id} {reason}")
    await chat.deliveries_done()
    staff = chat.api.texts_to(ADMIN.id)[-5:]
    assert all("is withdrawn" in each for each in staff), staff
    assert await rows(
        engine, "SELECT count(*) FROM notifications WHERE kind = 'withdrawn' AND status = 'sent'"
    ) == [(3,)]
    with_reason = [
        *staff,
        (await chat.send_one(ADMIN, f"/withdraw 1 {reason}")).text,
        (await chat.send_one(ALICE, "/books")).text,
        (await chat.send_one(ALICE, "/book 1")).text,
        (await chat.send_one(ALICE, "/reserve 1")).text,
        (await chat.send_one(ALICE, "/myreservations")).text,
        chat.api.texts_to(IVAN.id)[-1],
        chat.api.texts_to(LUCIA.id)[-1],
    ]
    report = (await chat.send_one(ADMIN, "/deliveries 1")).text
    assert "✅ sent: 3" in report
    for each in [*with_reason, report]:
        assert plain_length(each) <= MESSAGE_LIMIT
    for each in with_reason:
        assert f"&lt;&amp;&gt;{why}" in each, each[:300]


async def test_five_thousand_readers_are_told_in_one_fast_transaction(
    services: Services, engine: AsyncEngine
) -> None:
    """The line is cancelled and its notices queued set-based: one text per language,
    stored once for the default language, whatever the number of readers."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, language) "
                "SELECT 100000 + n, 100000 + n, (ARRAY['en', 'ru', 'es', NULL])[n % 4 + 1] "
                "FROM generate_series(1, 5000) AS n"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (user_id, book_id, status) "
                "SELECT id, 1, CASE WHEN id % 10 = 0 THEN 'paused' ELSE 'waiting' END"
                "::pre_booking_status FROM users"
            )
        )
    started = time.perf_counter()
    withdrawal = await services.withdrawals.withdraw(ADMIN.id, 1, "out of print")
    elapsed = time.perf_counter() - started

    assert withdrawal.cancelled == 5000
    assert elapsed < 1.0, elapsed
    assert await rows(
        engine,
        "SELECT count(*), count(DISTINCT text), count(text), count(DISTINCT restock_id) "
        "FROM notifications WHERE kind = 'withdrawn'",
    ) == [(5000, 2, 2500, 1)]
    assert await rows(engine, "SELECT status::text, count(*) FROM pre_bookings GROUP BY 1") == [
        ("cancelled", 5000)
    ]


async def test_a_reader_away_during_the_withdrawal_is_told_when_back_while_it_holds(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """A reader who blocked the bot misses the notice; coming back while the book is
    still withdrawn brings it, once. After a restock made the book available again, it
    would only confuse: nothing comes."""
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    for person in (ALICE, BOB):
        await chat.send_one(person, "/reserve 1")
        await chat.send_one(person, "/reserve 2")
    await chat.block(ALICE)
    await chat.block(BOB)
    await chat.send_one(ADMIN, "/withdraw 1 out of print")
    await chat.send_one(ADMIN, "/withdraw 2 cancelled by the publisher")
    await chat.deliveries_done()
    assert not any(sent.startswith("📕") for sent in chat.api.texts_to(ALICE.id))
    assert (
        await rows(engine, "SELECT status::text, last_error FROM notifications ORDER BY id")
        == [("failed", "unreachable")] * 4
    )

    await chat.send_one(ADMIN, "/restock 2 3")  # Emma is back: its notice no longer holds
    await chat.unblock(ALICE)
    await chat.unblock(ALICE)
    chat.api.failing_chats.pop(BOB.id)  # Bob deleted the chat and starts it again
    await chat.send(BOB, "/start")  # writing to the bot is coming back too
    await chat.deliveries_done()

    for person in (ALICE, BOB):
        notices = [sent for sent in chat.api.texts_to(person.id) if sent.startswith("📕")]
        assert notices == [
            "📕 Sorry: <b>Dune</b> by Frank Herbert has been withdrawn (out of print), so I "
            "cancelled your reservation. Send /books to find another book."
        ]


async def test_reserves_racing_a_withdrawal_leave_nobody_waiting(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """120 readers press Reserve while staff withdraw the book, through four bot processes:
    each reader either joined before the withdrawal (and was cancelled and told) or was
    refused after it; nobody is left waiting for a withdrawn book. The staff member's
    update goes through a fifth process."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = [Person(3000 + n, f"Reader {n}") for n in range(120)]
    async with AsyncExitStack() as stack:
        chats = [
            Chat(await stack.enter_async_context(running(bot_application(services, api))), api)
            for _ in range(5)
        ]
        on = catalog_message(readers[0])
        presses = [
            asyncio.create_task(
                chats[n % 4].press_data(reader, "r:1", {**on, "chat": reader.private_chat()})
            )
            for n, reader in enumerate(readers)
        ]
        # Once the first reader has joined: the others race the withdrawal (which of them
        # win varies from run to run; the outcome must hold whatever the order).
        async with asyncio.timeout(10):
            while await rows(engine, "SELECT count(*) FROM pre_bookings") < [(1,)]:
                await asyncio.sleep(0.001)
        # Through a process of its own, not queued behind the presses.
        await asyncio.gather(chats[4].send(ADMIN, "/withdraw 1 out of print"), *presses)
        await chats[0].deliveries_done()

    assert await rows(
        engine, "SELECT count(*) FROM pre_bookings WHERE status IN ('waiting', 'paused')"
    ) == [(0,)]
    [(cancelled,)] = await rows(engine, "SELECT count(*) FROM pre_bookings")
    assert await rows(
        engine,
        "SELECT count(*), count(DISTINCT pre_booking_id) FROM notifications "
        "WHERE kind = 'withdrawn' AND status = 'sent'",
    ) == [(cancelled, cancelled)]
    told = [r for r in readers if any(t.startswith("📕") for t in api.texts_to(r.id))]
    # A refusal is the press's toast, or a message when the toast's moment passed.
    refusal = "Dune by Frank Herbert has been withdrawn (out of print)"
    toasts = [  # those Telegram took: one it refused was told as a message instead
        r.params.get("text", "") for r in api.sent("answerCallbackQuery") if r.error_code is None
    ]
    refused = [t for t in toasts if t.startswith(refusal)] + [
        t
        for r in readers
        for t in api.texts_to(r.id)
        if t.startswith("<b>Dune</b> by Frank Herbert has been withdrawn")
    ]
    assert len(told) == cancelled
    assert len(told) + len(refused) == 120


async def test_shelf_tags_of_sold_out_books_leave_withdrawn_ones_out(
    chat: Chat, services: Services
) -> None:
    """A tag says "Scan to be told when it's back": not for a book that won't be."""
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await chat.send_one(ADMIN, "/withdraw 1 out of print")
    sold_out = await services.cards.books_for_tags(sold_out_only=True)
    every = await services.cards.books_for_tags(sold_out_only=False)
    assert [book.title for book in sold_out] == ["Emma"]
    assert [book.title for book in every] == ["Dune", "Emma"]


async def test_a_reader_back_after_a_second_withdrawal_gets_its_notice_only(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """A notice missed during an earlier withdrawal, which a restock ended before the
    reader came back, is not sent when the book is withdrawn again: coming back then
    brings the second withdrawal's notice, once, and nothing about a cancellation
    long past with a reason no longer the book's."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.block(ALICE)
    await chat.send_one(ADMIN, "/withdraw 1 out of print")
    await chat.deliveries_done()
    await chat.send_one(ADMIN, "/restock 1 2")  # reprinted: available again
    await chat.unblock(ALICE)  # back while it is available: the notice no longer holds
    await chat.send_one(ADMIN, "/restock 1 0")  # sold out
    await chat.send_one(ALICE, "/reserve 1")
    await chat.block(ALICE)
    await chat.send_one(ADMIN, "/withdraw 1 cancelled by the publisher")
    await chat.deliveries_done()

    await chat.unblock(ALICE)
    await chat.deliveries_done()

    notices = [sent for sent in chat.api.texts_to(ALICE.id) if sent.startswith("📕")]
    assert notices == [
        "📕 Sorry: <b>Dune</b> by Frank Herbert has been withdrawn (cancelled by the "
        "publisher), so I cancelled your reservation. Send /books to find another book."
    ]
