"""Books by ISBN (issue 22, item 1): ISBN-10 and hyphenated forms normalised to ISBN-13,
bad checksums refused, /addbook <ISBN> looked up in a fake Open Library (found, not found,
404, 500, malformed, slow), answers cached, and the ISBN known to /book, /search and the
import."""

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.catalog_file import read_catalog
from bot.books.errors import IsbnInvalid
from bot.books.isbn import normalised
from bot.cli_texts import import_report
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, ALICE, Chat, inline_query_update
from tests.conftest import bot_application, running
from tests.db import add_books, rows, snapshot
from tests.fake_book_metadata import FakeBookMetadata, running_fake_metadata
from tests.fake_telegram import FakeBotApi

DUNE = "9780441013593"  # ISBN-10 0-441-01359-7
WAR_AND_PEACE = "9781400079988"
MODES: dict[str, tuple[str, list[str]] | str] = {
    DUNE: ("Dune", ["Frank Herbert"]),
    "9780306406157": ("Good  Omens ", ["Terry Pratchett", "Neil Gaiman"]),
    "9780140449136": "404",
    "9780143039990": "500",
    "9780679783275": "malformed",
    "9780452284234": "slow",
}
# Far below the fake's slow answer (3 s): the lookup gives up in time.
TIMEOUT = 0.5
ASK_FOR_TITLE = "No title and author found for ISBN {isbn}: add it with /addbook"


@pytest.fixture
async def metadata() -> AsyncIterator[FakeBookMetadata]:
    async with running_fake_metadata(MODES) as fake:
        yield fake


@pytest.fixture
async def isbn_chat(
    services: Services, engine: AsyncEngine, api: FakeBotApi, metadata: FakeBookMetadata
) -> AsyncIterator[Chat]:
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE book_metadata"))
    shop = Shop(
        frozenset({ADMIN.id}),
        line_updates=False,
        book_metadata_url=metadata.url,
        book_metadata_timeout=TIMEOUT,
    )
    async with running(
        bot_application(build_services(engine, TelegramMessages(), shop), api)
    ) as app:
        yield Chat(app, api)


def test_an_isbn_10_and_a_hyphenated_isbn_13_are_normalised() -> None:
    assert normalised("0-441-01359-7") == DUNE
    assert normalised("0441013597") == DUNE
    assert normalised("978-0-441-01359-3") == DUNE
    assert normalised(" 978 0 441 01359 3 ") == DUNE
    assert normalised("0-8044-2957-X") == "9780804429573"


@pytest.mark.parametrize(
    "typed",
    ["978-0-441-01359-4", "0-441-01359-8", "978044101359", "97804410135930", "97804410X3593"],
)
def test_a_bad_isbn_is_refused(typed: str) -> None:
    with pytest.raises(IsbnInvalid):
        normalised(typed)


async def test_addbook_by_isbn_adds_the_title_and_author_found(
    isbn_chat: Chat, engine: AsyncEngine, metadata: FakeBookMetadata
) -> None:
    reply = await isbn_chat.send_one(ADMIN, "/addbook 0-441-01359-7 | 3")
    assert reply.text.startswith("Added #1 <b>Dune</b> by Frank Herbert with 3 in stock.")
    two_authors = await isbn_chat.send_one(ADMIN, "/addbook 978-0-306-40615-7")
    assert two_authors.text.startswith(
        "Added #2 <b>Good Omens</b> by Terry Pratchett, Neil Gaiman with 1 in stock."
    )
    assert await rows(engine, "SELECT id, title, isbn FROM books ORDER BY id") == [
        (1, "Dune", DUNE),
        (2, "Good Omens", "9780306406157"),
    ]


async def test_the_same_isbn_twice_is_refused_naming_the_book(
    isbn_chat: Chat, engine: AsyncEngine, metadata: FakeBookMetadata
) -> None:
    await isbn_chat.send_one(ADMIN, "/addbook 9780441013593")
    before = await snapshot(engine)
    for again in (
        "/addbook 0441013597 | 2",
        "/addbook Dune Messiah | Frank Herbert | 1 | 0441013597",
    ):
        reply = await isbn_chat.send_one(ADMIN, again)
        assert (
            reply.text == "That book is already in the catalog as #1 <b>Dune</b> by Frank Herbert."
        )
    assert (await snapshot(engine))["books"] == before["books"]
    assert len(metadata.requests) == 1  # the second /addbook <ISBN> asked nobody


async def test_a_bad_checksum_is_refused_and_nothing_written(
    isbn_chat: Chat, engine: AsyncEngine, metadata: FakeBookMetadata
) -> None:
    before = await snapshot(engine)
    for command in (
        "/addbook 978-0-441-01359-4",
        "/addbook Dune | Frank Herbert | 1 | 0441013598",
    ):
        reply = await isbn_chat.send_one(ADMIN, command)
        assert "is not a valid ISBN" in reply.text
    assert await snapshot(engine) == before
    assert metadata.requests == []


@pytest.mark.parametrize(
    ("isbn", "mode"),
    [
        ("9780140449136", "404"),
        ("9780143039990", "500"),
        ("9780679783275", "malformed"),
        (WAR_AND_PEACE, "not in the service"),
    ],
)
async def test_a_failing_metadata_service_asks_for_the_title_and_author(
    isbn_chat: Chat, engine: AsyncEngine, metadata: FakeBookMetadata, isbn: str, mode: str
) -> None:
    reply = await isbn_chat.send_one(ADMIN, f"/addbook {isbn} | 2")
    hyphenated = {
        "9780140449136": "978-0-14-044913-6",
        "9780143039990": "978-0-14-303999-0",
        "9780679783275": "978-0-679-78327-5",
        WAR_AND_PEACE: "978-1-4000-7998-8",
    }[isbn]
    assert reply.text.startswith(ASK_FOR_TITLE.format(isbn=hyphenated)), mode
    assert "\n" not in reply.text
    assert await rows(engine, "SELECT count(*) FROM books") == [(0,)]
    assert len(metadata.requests) == 1  # once, no retries
    # Staff then type it, with the ISBN.
    added = await isbn_chat.send_one(ADMIN, f"/addbook War and Peace | Leo Tolstoy | 2 | {isbn}")
    assert added.text.startswith("Added #")
    assert await rows(engine, "SELECT isbn FROM books") == [(isbn,)]


async def test_a_slow_metadata_service_answers_staff_within_the_timeout(
    isbn_chat: Chat, engine: AsyncEngine, metadata: FakeBookMetadata
) -> None:
    started = time.monotonic()
    reply = await isbn_chat.send_one(ADMIN, "/addbook 9780452284234")
    took = time.monotonic() - started
    assert reply.text.startswith(ASK_FOR_TITLE.format(isbn="978-0-452-28423-4"))
    assert took < TIMEOUT + 1.0, took
    assert await rows(engine, "SELECT count(*) FROM books") == [(0,)]
    # A failure is not cached: the next try asks again (once).
    await isbn_chat.send_one(ADMIN, "/addbook 9780452284234")
    assert len(metadata.requests) == 2


async def test_answers_are_cached_for_every_process(
    isbn_chat: Chat, engine: AsyncEngine, metadata: FakeBookMetadata, api: FakeBotApi
) -> None:
    """Not found and found answers are kept in the database: another process (services
    built anew) and a later /addbook ask the service no more."""
    await isbn_chat.send_one(ADMIN, f"/addbook {WAR_AND_PEACE}")
    await isbn_chat.send_one(ADMIN, "/addbook 9780441013593")
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM books"))
    other = build_services(
        engine,
        TelegramMessages(),
        Shop(frozenset({ADMIN.id}), line_updates=False, book_metadata_url=metadata.url),
    )
    async with running(bot_application(other, api, name="other")) as app:
        chat = Chat(app, api)
        again = await chat.send_one(ADMIN, f"/addbook {WAR_AND_PEACE}")
        assert again.text.startswith("No title and author found")
        dune = await chat.send_one(ADMIN, "/addbook 0441013597")
        assert "<b>Dune</b> by Frank Herbert" in dune.text
    assert len(metadata.requests) == 2
    assert await rows(engine, "SELECT isbn, found FROM book_metadata ORDER BY isbn") == [
        (DUNE, True),
        (WAR_AND_PEACE, False),
    ]


async def test_book_search_and_inline_search_find_a_book_by_its_isbn(
    isbn_chat: Chat, services: Services
) -> None:
    await add_books(services, ("Dune Messiah", "Frank Herbert", 0), ("Emma", "Jane Austen", 1))
    await services.books.add_book(ADMIN.id, "Dune", "Frank Herbert", 0, "0-441-01359-7")
    card = await isbn_chat.send_one(ALICE, "/book 978-0-441-01359-3")
    assert card.text.startswith("#3 <b>Dune</b> by Frank Herbert\nISBN 978-0-441-01359-3\n")
    by_id = await isbn_chat.send_one(ALICE, "/book 3")
    assert "ISBN 978-0-441-01359-3" in by_id.text
    found = await isbn_chat.send_one(ALICE, "/search 0441013597")
    assert "Dune</b>" in found.text
    assert "Messiah" not in found.text
    inline = await isbn_chat.feed(
        inline_query_update(isbn_chat.next_update_id(), ALICE, "978-0-441-01359-3", "")
    )
    [answer] = [request for request in inline if request.method == "answerInlineQuery"]
    found_inline = answer.params["results"]
    found_inline = json.loads(found_inline) if isinstance(found_inline, str) else found_inline
    assert [result["title"] for result in found_inline] == ["Dune"]
    missing = await isbn_chat.send_one(ALICE, f"/book {WAR_AND_PEACE}")
    assert missing.text == "No book with ISBN 978-1-4000-7998-8 in the catalog. Try /search."


async def test_import_books_takes_an_isbn_column(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "title,author,quantity,isbn\n"
        "Dune,Frank Herbert,0,0-441-01359-7\n"
        "Emma,Jane Austen,2,\n"
        "Good Omens,Terry Pratchett,1,978-0-306-40615-8\n"
        "Dune Messiah,Frank Herbert,1,9780441013593\n"
        "Ulysses,James Joyce,1,,extra\n"
        "Beloved,Toni Morrison,0\n",
        encoding="utf-8",
    )
    report = await services.books.import_books(read_catalog(path))
    assert import_report(report) == (
        "Imported 3 books.\n"
        "Rejected 3:\n"
        "  line 4: “978-0-306-40615-8” is not a valid ISBN: check its digits "
        "(ISBN-10 or ISBN-13, hyphens allowed).\n"
        "  line 5: The same ISBN is already on line 2.\n"
        "  line 6: Expected 4 fields (title, author, quantity, isbn), found 5."
    )
    page = await services.books.list_books(query="978-0-441-01359-3")
    assert [(book.title, book.isbn) for book in page.books] == [("Dune", DUNE)]
