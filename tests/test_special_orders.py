"""Readers' special orders (issue 22, item 2), as a reader meets them: /request by ISBN
(any form, normalised) or by title | author; a book the catalog has answered with its
card; readers asking for the same book joining one request in the order they asked;
asking twice, too many requests and bad input refused, changing nothing; the requests
in /myreservations, withdrawn by button or /unrequest."""

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from tests.chat import ADMIN, ALICE, BOB, CAROL, Person
from tests.db import rows
from tests.fake_telegram import FakeBotApi
from tests.special_orders import BROKEN, DUNE, EMMA, everything, special_chat

RECORDED_TAIL = (
    " The shop will answer: I'll message you when it is ordered or declined. "
    "See it in /myreservations."
)


async def test_an_isbn_10_and_a_hyphenated_isbn_13_join_one_request(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, metadata):
        first = await chat.send_one(ALICE, "/request 0-441-01359-7")
        second = await chat.send_one(BOB, "/request 978-0-441-01359-3")
        third = await chat.send_one(CAROL, "/request 9780441013593")
    assert first.text == "📮 Request #1 recorded: <b>Dune</b> by Frank Herbert." + RECORDED_TAIL
    assert second.text == (
        "📮 You joined request #1 for <b>Dune</b> by Frank Herbert: you are reader "
        "number 2 to ask for it." + RECORDED_TAIL
    )
    assert "you are reader number 3" in third.text
    assert await rows(
        engine, "SELECT id, isbn, title, author, match_key, status FROM book_requests"
    ) == [(1, DUNE, "Dune", "Frank Herbert", f"isbn:{DUNE}", "open")]
    assert await rows(
        engine,
        "SELECT r.id, u.telegram_id FROM book_request_readers r "
        "JOIN users u ON u.id = r.user_id ORDER BY r.id",
    ) == [(1, ALICE.id), (2, BOB.id), (3, CAROL.id)]
    # Only the first reader made the shop ask the metadata service.
    assert metadata.requests == [f"ISBN:{DUNE}"]


async def test_a_book_in_the_catalog_is_answered_with_its_card(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, services, metadata):
        await services.books.add_book(ADMIN.id, "War and Peace", "Leo Tolstoy", 0)
        await services.books.add_book(ADMIN.id, "Emma", "Jane Austen", 2, EMMA)
        card = await chat.send_one(ALICE, "/book 1")
        by_words = await chat.send_one(ALICE, "/request  WAR and peace | leo  TOLSTOY")
        by_isbn = await chat.send_one(ALICE, "/request 0-14-143958-0")
        emma = await chat.send_one(ALICE, "/book 2")
    assert by_words.text == card.text
    assert by_words.buttons == card.buttons
    assert "Reserve" in str(by_words.buttons)
    assert by_isbn.text == emma.text
    assert await rows(engine, "SELECT count(*) FROM book_requests") == [(0,)]
    # The catalog answered: nobody asked the service.
    assert metadata.requests == []


async def test_the_same_folded_words_join_one_request(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request The Master and Margarita | Mikhail Bulgakov")
        joined = await chat.send_one(
            BOB, "/request the MASTER and “Margarita”! | mikhail  bulgakov"
        )
        other = await chat.send_one(CAROL, "/request The Master and Margarita | Someone Else")
    assert joined.text.startswith("📮 You joined request #1 for <b>The Master and Margarita</b>")
    assert other.text.startswith("📮 Request #2 recorded")
    assert await rows(engine, "SELECT id, match_key FROM book_requests ORDER BY id") == [
        (1, "words:the master and margarita|mikhail bulgakov"),
        (2, "words:the master and margarita|someone else"),
    ]


async def test_a_failed_lookup_records_the_request_under_its_isbn(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        reply = await chat.send_one(ALICE, "/request 978-0-14-303999-0")
    assert reply.text == "📮 Request #1 recorded: <b>978-0-14-303999-0</b>." + RECORDED_TAIL
    assert await rows(engine, "SELECT isbn, title, author FROM book_requests") == [
        (BROKEN, "978-0-14-303999-0", None)
    ]


async def test_asking_twice_and_bad_input_change_nothing(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        await chat.send_one(ALICE, "/request 0441013597")
        before = await everything(engine)
        twice = await chat.send_one(ALICE, "/request 978-0-441-01359-3")
        empty = await chat.send_one(ALICE, "/request")
        no_author = await chat.send_one(ALICE, "/request Dune")
        bad_checksum = await chat.send_one(ALICE, "/request 978-0-441-01359-4")
        too_long = await chat.send_one(ALICE, "/request " + "x" * 256 + " | Someone")
        no_words = await chat.send_one(ALICE, "/request !!! | ???")
        after = await everything(engine)
    assert after == before
    assert twice.text == (
        "You asked for <b>Dune</b> by Frank Herbert already (request #1): it stands, the "
        "shop will answer. See /myreservations."
    )
    usage = (
        "Usage: /request &lt;ISBN&gt; or /request &lt;title&gt; | &lt;author&gt;, for "
        "example /request 978-0-441-01359-3 or /request Dune | Frank Herbert"
    )
    assert empty.text == usage
    assert no_author.text == usage
    assert bad_checksum.text == (
        "“978-0-441-01359-4” is not a valid ISBN: check its digits (ISBN-10 or ISBN-13, "
        "hyphens allowed)."
    )
    assert too_long.text == "The title must have a word and be at most 255 characters."
    assert no_words.text == "The title must have a word and be at most 255 characters."


async def test_a_reader_may_have_ten_open_requests(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _, _metadata):
        for number in range(10):
            await chat.send_one(ALICE, f"/request Book {number} | Author")
        before = await everything(engine)
        refused = await chat.send_one(ALICE, "/request Book 10 | Author")
        assert await everything(engine) == before
        await chat.send_one(ALICE, "/unrequest 1")
        allowed = await chat.send_one(ALICE, "/request Book 10 | Author")
    assert refused.text == (
        "You have 10 open requests, as many as one may. Withdraw one in /myreservations first."
    )
    assert allowed.text.startswith("📮 Request #11 recorded"), allowed.text


async def test_requests_show_in_myreservations_and_can_be_withdrawn(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    async with special_chat(engine, api) as (chat, _services, _metadata):
        await chat.send_one(ALICE, "/request 0441013597")
        await chat.send_one(ALICE, "/request Anna Karenina | Leo Tolstoy")
        await chat.send_one(BOB, "/request Anna Karenina | Leo Tolstoy")
        mine = await chat.send_one(ALICE, "/myreservations")
        assert mine.text.startswith(
            "<b>Your requests</b>\n\n#2 <b>Anna Karenina</b> by Leo Tolstoy\n    📮 asked on "
        ), mine.text
        assert "#1 <b>Dune</b> by Frank Herbert\n    📮 asked on " in mine.text
        assert [label for label, _ in chat.current_buttons(mine)] == [
            "Withdraw request #2 Anna Karenina",
            "Withdraw request #1 Dune",
        ]
        pressed = await chat.press(ALICE, "Withdraw request #2", mine)
        [toast] = [r for r in pressed if r.method == "answerCallbackQuery"]
        assert toast.params["text"] == "Request withdrawn"
        assert [label for label, _ in chat.current_buttons(mine)] == ["Withdraw request #1 Dune"]
        by_command = await chat.send_one(ALICE, "/unrequest 1")
        again = await chat.send_one(ALICE, "/unrequest 1")
        not_hers = await chat.send_one(CAROL, "/unrequest 2")
        empty = await chat.send_one(ALICE, "/myreservations")
        # Bob still asks for Anna Karenina: the request stays open, with him alone.
        staff = await chat.send_one(ADMIN, "/requests")
    assert by_command.text == "Withdrew request #1 for <b>Dune</b>."
    not_found = "No request #%s. Readers' requests are in /myreservations, staff's in /requests."
    assert again.text == not_found % 1
    assert not_hers.text == not_found % 2
    assert empty.text.startswith("You have no reservations yet."), empty.text
    assert "#2 <b>Anna Karenina</b> by Leo Tolstoy\n    👥 1 reader since" in staff.text
    assert "Dune" not in staff.text
    assert await rows(
        engine,
        "SELECT request_id, withdrawn_at IS NOT NULL FROM book_request_readers ORDER BY id",
    ) == [(1, True), (2, True), (2, False)]


async def test_many_readers_asking_at_once_join_one_request(
    services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    readers = [Person(5000 + number, f"Reader {number}") for number in range(20)]
    async with special_chat(engine, api) as (chat, _, _metadata):
        await asyncio.gather(
            *(chat.send(reader, "/request Solaris | Stanislaw Lem") for reader in readers)
        )
        for reader in readers:
            [reply] = api.texts_to(reader.id)
            assert reply.startswith(("📮 Request #1 recorded", "📮 You joined request #1 ")), reply
    assert await rows(engine, "SELECT count(*) FROM book_requests") == [(1,)]
    places = sorted(
        int(text.split("reader number ")[1].split(" ")[0])
        for reader in readers
        for text in api.texts_to(reader.id)
        if "reader number" in text
    )
    # One reader recorded it, the others joined, each with a place of their own.
    assert places == list(range(2, 21))
    assert await rows(engine, "SELECT count(DISTINCT user_id) FROM book_request_readers") == [
        (20,)
    ]
