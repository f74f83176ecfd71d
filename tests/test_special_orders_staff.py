# ruff: noqa: RUF001 (Russian text is Cyrillic on purpose)
"""Readers' special orders as staff decide them (issue 22, item 2): /requests lists the
open ones, most wanted first, with Order buttons; /order makes a request a catalog book
with its readers in line in the order they asked, each told (with the expected day)
through the outbox; /decline tells each reader why, in their language; refusals change
nothing; two staff ordering at once, one wins; a reader who blocked the bot gets the
notice when back."""

import asyncio
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from tests.chat import ADMIN, ALICE, BOB, CAROL, Person
from tests.db import rows
from tests.fake_telegram import FakeBotApi
from tests.special_orders import DUNE, STAFF_ONLY, everything, special_chat

IVAN = Person(2001, "Иван", "ivan", language_code="ru")
LUCIA = Person(2002, "Lucía", "lucia", language_code="es-419")
REASON = "out of print <for good> & gone"
ESCAPED = "out of print &lt;for good&gt; &amp; gone"
ORDERED = (
    "📦 Good news: the shop has ordered <b>Dune</b> by Frank Herbert, which you asked for "
    "(request #1). You are in line for it, in the order you asked: I'll message you when "
    "it arrives. See your place in /myreservations."
)


async def test_an_order_keeps_the_readers_in_the_order_they_asked(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(CAROL, "/request 0-441-01359-7")
        await chat.send_one(ALICE, "/request 978-0-441-01359-3")
        await chat.send_one(BOB, "/request 9780441013593")
        report = await chat.send_one(ADMIN, "/order 1 2030-01-15")
        await chat.deliveries_done()
        mine = await chat.send_one(ALICE, "/myreservations")
        await chat.send_one(ADMIN, "/restock 1 1")
        await chat.deliveries_done()
    assert report.text == (
        "Request #1 ordered: it is #1 <b>Dune</b> by Frank Herbert in the catalog. 3 "
        "readers put in its line, in the order they asked, and told. Expected on Jan 15, "
        "2030. When copies arrive: /restock 1 &lt;quantity&gt;."
    )
    # Ordered with 0 in stock; the restock since brought 1.
    assert await rows(engine, "SELECT id, title, author, isbn, stock_quantity FROM books") == [
        (1, "Dune", "Frank Herbert", DUNE, 1)
    ]
    assert await rows(
        engine,
        "SELECT p.id, u.telegram_id, p.status::text FROM pre_bookings p "
        "JOIN users u ON u.id = p.user_id ORDER BY p.id",
    ) == [(1, CAROL.id, "notified"), (2, ALICE.id, "notified"), (3, BOB.id, "notified")]
    assert await rows(
        engine, "SELECT id, pre_booking_id FROM book_request_readers ORDER BY id"
    ) == [(1, 1), (2, 2), (3, 3)]
    assert await rows(
        engine, "SELECT status, book_id, expected_on, decided_by FROM book_requests"
    ) == [("ordered", 1, date(2030, 1, 15), ADMIN.id)]
    notice = ORDERED + "\n📅 Expected on Jan 15, 2030."
    for reader in (CAROL, ALICE, BOB):
        assert notice in api.texts_to(reader.id), api.texts_to(reader.id)
    assert await rows(
        engine,
        "SELECT kind, pre_booking_id, request_reader_id, status::text FROM notifications "
        "WHERE kind = 'ordered' ORDER BY id",
    ) == [("ordered", 1, 1, "sent"), ("ordered", 2, 2, "sent"), ("ordered", 3, 3, "sent")]
    assert (
        "#1 <b>Dune</b> by Frank Herbert\n"
        "    📦 ordered: now your reservation #2 · expected on Jan 15, 2030"
    ) in mine.text
    assert "#2 <b>Dune</b> by Frank Herbert\n    ⏳ waiting since" in mine.text
    # The usual flow from then on: the restock tells the line (RESTOCK_POLICY=notify_all).
    for reader in (CAROL, ALICE, BOB):
        assert "is back in stock" in api.texts_to(reader.id)[-1], api.texts_to(reader.id)[-1]


async def test_a_decline_tells_each_reader_in_their_language(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(IVAN, "/request Dune | Frank Herbert")
        await chat.send_one(LUCIA, "/request dune | frank herbert")
        await chat.send_one(ALICE, "/request DUNE | Frank Herbert")
        report = await chat.send_one(ADMIN, f"/decline 1 {REASON}")
        await chat.deliveries_done()
        mine = await chat.send_one(IVAN, "/myreservations")
    assert report.text == "Request #1 for <b>Dune</b> by Frank Herbert declined: 3 readers told."
    assert api.texts_to(IVAN.id)[-2] == (
        "📭 К сожалению, магазин не может достать <b>Dune</b>, Frank Herbert, о "
        f"которой вы просили (запрос #1): {ESCAPED}. Отправьте /books, чтобы найти другую "
        "книгу."
    )
    assert api.texts_to(LUCIA.id)[-1] == (
        "📭 Lo sentimos: la tienda no puede conseguir <b>Dune</b>, de Frank Herbert, que "
        f"usted solicitó (solicitud #1): {ESCAPED}. Envíe /books para buscar otro libro."
    )
    assert api.texts_to(ALICE.id)[-1] == (
        "📭 Sorry: the shop can't get <b>Dune</b> by Frank Herbert, which you asked for "
        f"(request #1): {ESCAPED}. Send /books to find another book."
    )
    assert await rows(
        engine,
        "SELECT kind, pre_booking_id, request_reader_id, status::text FROM notifications "
        "ORDER BY id",
    ) == [("declined", None, number, "sent") for number in (1, 2, 3)]
    assert await rows(engine, "SELECT status, decline_reason FROM book_requests") == [
        ("declined", REASON)
    ]
    assert f"📭 отказано: {ESCAPED}" in mine.text, mine.text


async def test_staff_commands_are_for_staff_only(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request 0441013597")
        listed = await chat.send_one(ADMIN, "/requests")
        before = await everything(engine)
        replies = [
            await chat.send_one(BOB, command)
            for command in ("/order 1", "/decline 1 no", "/requests", "/order", "/decline")
        ]
        pressed = await chat.press(BOB, "Order #1", listed)
        after = await everything(engine)
    assert {table: after[table] for table in after if table != "users"} == {
        table: before[table] for table in before if table != "users"
    }
    assert [reply.text for reply in replies] == [STAFF_ONLY] * 5
    [toast] = [r for r in pressed if r.method == "answerCallbackQuery"]
    assert toast.params["text"] == STAFF_ONLY


async def test_refused_orders_and_declines_change_nothing(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request 0441013597")
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        await chat.send_one(ADMIN, "/decline 2 not for us")
        await chat.deliveries_done()
        before = await everything(engine)
        texts = [
            (await chat.send_one(ADMIN, command)).text
            for command in (
                f"/order 1 {yesterday}",
                "/order 1 978-0-441-01359-4",
                "/order 1 2030-02-30",
                "/order 9",
                "/order 2",
                "/decline 2 again",
                "/decline 1",
                "/decline 1 " + "x" * 201,
                "/order 1 2030-01-01 extra",
            )
        ]
        after = await everything(engine)
    assert after == before
    assert texts[0] == f"{yesterday} is in the past: give today or a later day (YYYY-MM-DD)."
    assert texts[1].startswith("“978-0-441-01359-4” is not a valid ISBN")
    assert "2030-02-30" in texts[2]
    assert texts[3] == (
        "No request #9. Readers' requests are in /myreservations, staff's in /requests."
    )
    assert texts[4] == "Request #2 was declined already: nothing changed."
    assert texts[5] == "Request #2 was declined already: nothing changed."
    assert texts[6].startswith("Usage: /decline &lt;request id&gt; &lt;reason&gt;")
    assert texts[7] == "The reason must be between 1 and 200 characters."
    assert texts[8].startswith("Usage: /order")


async def test_requests_lists_the_most_wanted_first_and_orders_by_button(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        await chat.send_one(ALICE, "/request 0441013597")
        await chat.send_one(BOB, "/request 0441013597")
        listed = await chat.send_one(ADMIN, "/requests")
        assert listed.text.startswith(
            "<b>Open requests</b>, most wanted first (page 1)\n\n"
            "#2 <b>Dune</b> by Frank Herbert\n    👥 2 readers since "
        ), listed.text
        assert (
            "· ISBN 978-0-441-01359-3\n#1 <b>Emma</b> by Jane Austen\n    👥 1 reader since"
        ) in listed.text
        assert [label for label, _ in chat.current_buttons(listed)] == ["Order #2", "Order #1"]
        pressed = await chat.press(ADMIN, "Order #2", listed)
        await chat.deliveries_done()
        again = await chat.press(ADMIN, "Order #2", listed)
    [toast] = [r for r in pressed if r.method == "answerCallbackQuery"]
    # The short answer, unless the order outlasted the spinner's deadline (then none).
    assert toast.params.get("text", "Ordered: #1") == "Ordered: #1", pressed
    [report] = [r for r in pressed if r.method == "sendMessage"]
    assert report.text.startswith("Request #2 ordered: it is #1 <b>Dune</b>")
    [refused] = [r for r in again if r.method == "answerCallbackQuery"]
    assert refused.params["text"] == "Request #2 was ordered already: nothing changed."
    assert ORDERED.replace("#1)", "#2)") in api.texts_to(BOB.id)


async def test_an_order_reuses_the_catalog_book_and_skips_readers_already_waiting(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, services, _metadata):
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        await chat.send_one(BOB, "/request Emma | Jane Austen")
        await chat.send_one(CAROL, "/request Emma | Jane Austen")
        await chat.send_one(CAROL, "/unrequest 1")
        # Staff added it meanwhile; Bob found it and reserved it.
        await services.books.add_book(ADMIN.id, "Emma", "Jane Austen", 0)
        await chat.send_one(BOB, "/reserve 1")
        report = await chat.send_one(ADMIN, "/order 1")
        await chat.deliveries_done()
    assert report.text == (
        "Request #1 ordered: it is #1 <b>Emma</b> by Jane Austen in the catalog. 1 reader "
        "put in its line, in the order they asked, and told. 1 reader was waiting for it "
        "already. When copies arrive: /restock 1 &lt;quantity&gt;."
    )
    assert await rows(engine, "SELECT count(*) FROM books") == [(1,)]
    assert await rows(
        engine,
        "SELECT p.id, u.telegram_id FROM pre_bookings p JOIN users u ON u.id = p.user_id "
        "ORDER BY p.id",
    ) == [(1, BOB.id), (2, ALICE.id)]
    assert await rows(
        engine,
        "SELECT id, pre_booking_id, withdrawn_at IS NULL FROM book_request_readers ORDER BY id",
    ) == [(1, 2, True), (2, 1, True), (3, None, False)]
    assert not any("Good news" in text for text in api.texts_to(CAROL.id))
    assert await rows(engine, "SELECT count(*) FROM notifications WHERE kind = 'ordered'") == [
        (1,)
    ]


async def test_two_staff_ordering_at_once_one_wins(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Two staff members send /order of the same request at the same moment (their
    updates are handled side by side), and a third staff call races them: one order."""
    eve = Person(9002, "Eve", language_code="en")
    async with special_chat(engine, api, frozenset({ADMIN.id, eve.id})) as (chat, services, _):
        await chat.send_one(ALICE, "/request 0441013597")
        await chat.send_one(BOB, "/request 0441013597")
        outcomes = await asyncio.gather(
            chat.send(ADMIN, "/order 1 2030-01-15"),
            chat.send(eve, "/order 1"),
            services.special_orders.order(ADMIN.id, 1),
            return_exceptions=True,
        )
        await chat.deliveries_done()
        declined = await chat.send_one(ADMIN, "/decline 1 too late")
    answers = [text for person in (ADMIN, eve) for text in api.texts_to(person.id) if "#1" in text]
    ordered = [text for text in answers if text.startswith("Request #1 ordered")]
    refused = [text for text in answers if text.endswith("ordered already: nothing changed.")]
    by_service = [outcome for outcome in outcomes[2:] if not isinstance(outcome, Exception)]
    assert len(ordered) + len(by_service) == 1, (answers, outcomes)
    assert len(refused) + len(ordered) == 3  # both staff answered, and the decline after
    assert declined.text == "Request #1 was ordered already: nothing changed."
    assert await rows(engine, "SELECT count(*) FROM books") == [(1,)]
    assert await rows(engine, "SELECT count(*) FROM pre_bookings") == [(2,)]
    assert await rows(engine, "SELECT count(*), count(DISTINCT chat_id) FROM notifications") == [
        (2, 2)
    ]


async def test_a_reader_who_blocked_the_bot_hears_of_the_decline_when_back(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        await chat.send_one(BOB, "/request 0441013597")
        await chat.block(ALICE)
        await chat.block(BOB)
        await chat.send_one(ADMIN, "/decline 1 not for us")
        await chat.send_one(ADMIN, "/order 2")
        await chat.deliveries_done()
        assert await rows(
            engine, "SELECT kind, status::text, reader_unreachable FROM notifications ORDER BY id"
        ) == [("declined", "failed", True), ("ordered", "failed", True)]
        await chat.unblock(ALICE)
        await chat.unblock(BOB)
        await chat.deliveries_done()
    assert api.texts_to(ALICE.id)[-1].startswith("📭 Sorry: the shop can't get <b>Emma</b>")
    assert api.texts_to(BOB.id)[-1].startswith("📦 Good news: the shop has ordered <b>Dune</b>")
    assert await rows(engine, "SELECT kind, status::text FROM notifications ORDER BY id") == [
        ("declined", "sent"),
        ("ordered", "sent"),
    ]


async def test_an_order_of_a_book_on_the_shelf_is_refused(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """Nobody may be left waiting for a book in stock: staff are told to point the
    readers to it instead."""
    async with special_chat(engine, api) as (chat, services, _metadata):
        await chat.send_one(ALICE, "/request Emma | Jane Austen")
        await services.books.add_book(ADMIN.id, "Emma", "Jane Austen", 2)
        before = await everything(engine)
        refused = await chat.send_one(ADMIN, "/order 1")
        after = await everything(engine)
    assert after == before
    assert refused.text == (
        "#1 <b>Emma</b> by Jane Austen is in the catalog with 2 copies free: its readers can "
        "have it now. Tell them with /decline 1 in stock as /book_1."
    )


async def test_requests_are_paged_five_at_a_time(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        for number in range(6):
            await chat.send_one(ALICE, f"/request Book {number} | Author")
        listed = await chat.send_one(ADMIN, "/requests")
        first = [label for label, _ in chat.current_buttons(listed)]
        await chat.press(ADMIN, "Next", listed)
        second = chat.current(listed)["text"]
        second_buttons = [label for label, _ in chat.current_buttons(listed)]
    assert first == [f"Order #{number}" for number in range(1, 6)] + ["Next ›"]
    assert "(page 2)" in second
    assert "#6 <b>Book 5</b> by Author" in second
    assert second_buttons == ["Order #6", "‹ Prev"]
