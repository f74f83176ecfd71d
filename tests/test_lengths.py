"""Lengths as Telegram counts them: UTF-16 code units, measured after HTML parsing.

Titles and authors at their maximum length (255 characters) outside the Basic Multilingual
Plane take two units a character: every page, report and alert must still be accepted.
"""

import unicodedata
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.books.errors import DuplicateBook
from bot.books.models import AUTHOR_MAX_LENGTH, TITLE_MAX_LENGTH
from bot.books.rules import SEARCH_MAX_LENGTH
from bot.books.schemas import BookPage, BookView
from bot.books.service import BOOKS_PAGE_SIZE
from bot.database import MAX_ID
from bot.line.pages import RESERVATIONS_PAGE_SIZE
from bot.playground.local_bot_api import SentRequest
from bot.reservations.errors import AlreadyWaiting, BookInStock
from bot.reservations.models import ReservationStatus
from bot.reservations.schemas import Confirmation, ReservationPage, ReservationView
from bot.restocks.schemas import Restock
from bot.services import Services
from bot.telegram.lengths import truncated, utf16_length
from bot.telegram.texts import catalog as catalog_texts
from bot.telegram.texts import commands, refusals, staff
from bot.telegram.texts import reservations as reservations_texts
from tests.chat import ADMIN, ALICE, Chat
from tests.db import add_books
from tests.fake_telegram import FakeBotApi

# Mathematical Fraktur capitals: outside the BMP, two UTF-16 units each.
A = "\N{MATHEMATICAL FRAKTUR CAPITAL A}"
FRAKTUR = [A, *(unicodedata.lookup(f"MATHEMATICAL FRAKTUR CAPITAL {c}") for c in "BDEF")]
AUTHOR = "Ann " + "\N{MATHEMATICAL FRAKTUR CAPITAL W}" * (AUTHOR_MAX_LENGTH - 4)


def test_utf16_length_counts_pairs_for_characters_outside_the_bmp() -> None:
    assert utf16_length("Dune") == 4
    assert utf16_length(A) == 2
    assert utf16_length("👨‍👩‍👧") == 8  # three emoji joined by two zero-width joiners


@given(text=st.text(), limit=st.integers(min_value=0, max_value=50))
def test_truncated_fits_and_keeps_whole_characters(text: str, limit: int) -> None:
    shortened = truncated(text, limit)
    assert utf16_length(shortened) <= limit
    if utf16_length(text) <= limit:
        assert shortened == text
    else:
        assert text.startswith(shortened.removesuffix("…"))
        assert limit == 0 or shortened.endswith("…")
        # As much as fits: one more character would not have.
        kept = shortened.removesuffix("…")
        if limit > 0:
            assert utf16_length(text[: len(kept) + 1]) + 1 > limit


def test_the_fake_counts_as_telegram_does() -> None:
    api = FakeBotApi()

    def send(text: str, **params: str) -> int | None:
        api.answer("sendMessage", {"chat_id": ALICE.id, "text": text, **params})
        return api.requests[-1].error_code

    assert send(A * 2048) is None
    assert send(A * 2048 + "!") == 400
    # Entities and tags don't count: the length is that of the parsed text.
    assert send("<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML") is None
    api.answer("answerCallbackQuery", {"callback_query_id": "1", "text": A * 100})
    assert api.requests[-1].error_code is None
    api.answer("answerCallbackQuery", {"callback_query_id": "1", "text": A * 100 + "!"})
    assert api.requests[-1].error_code == 400


def test_command_descriptions_fit() -> None:
    for description in [*commands.READER_COMMANDS.values(), *commands.ADMIN_COMMANDS.values()]:
        assert 1 <= utf16_length(description) <= 256


@pytest.fixture
async def long_titles(services: Services) -> Services:
    """Five sold-out books whose title and author take 510 UTF-16 units each."""
    await add_books(services, *[(letter * TITLE_MAX_LENGTH, AUTHOR, 0) for letter in FRAKTUR])
    return services


def all_accepted(requests: list[SentRequest]) -> None:
    refused = [request for request in requests if request.error_code is not None]
    assert not refused, [(request.method, request.error_code) for request in refused]


@pytest.mark.usefixtures("long_titles")
async def test_catalog_and_search_pages_fit(chat: Chat) -> None:
    catalog = await chat.send_one(ALICE, "/books")
    search = await chat.send_one(ALICE, "/search ann")
    no_match = await chat.send_one(ALICE, "/search " + "\N{MATHEMATICAL FRAKTUR CAPITAL Y}" * 100)
    all_accepted(chat.api.requests)
    for page in (catalog, search):
        assert page.text.count("#") == 5
        assert len(chat.current_buttons(page)) == 5
        for letter in FRAKTUR:
            assert letter * 20 in page.text
    assert "No books match" in no_match.text


@pytest.mark.usefixtures("long_titles")
async def test_reservations_page_fits(chat: Chat) -> None:
    for book_id in range(1, 6):
        await chat.send_one(ALICE, f"/reserve {book_id}")
    page = await chat.send_one(ALICE, "/myreservations")
    all_accepted(chat.api.requests)
    assert page.text.count("⏳ waiting since") == 5
    cancelled = await chat.press(ALICE, "Cancel #1", page)
    all_accepted(cancelled)


@pytest.mark.usefixtures("long_titles")
async def test_back_in_stock_and_deliveries_report_fit(chat: Chat) -> None:
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send(ADMIN, "/restock 1 3")
    await chat.deliveries_done()
    report = await chat.send_one(ADMIN, "/deliveries 1")
    all_accepted(chat.api.requests)
    assert chat.api.received(ALICE.id, "Good news") == 1
    assert "✅ sent: 1" in report.text


@pytest.mark.usefixtures("long_titles")
async def test_button_answers_and_alerts_fit(chat: Chat) -> None:
    catalog = await chat.send_one(ALICE, "/books")
    reserved = await chat.press(ALICE, "Reserve #1", catalog)
    again = await chat.press(ALICE, "Reserve #1", catalog)
    all_accepted(chat.api.requests)
    alert = next(request for request in again if request.method == "answerCallbackQuery")
    assert alert.params["show_alert"] is True
    assert alert.params["text"].startswith("You are already waiting for " + A * 3)
    assert alert.params["text"].endswith("…")
    assert [request.method for request in reserved] == ["answerCallbackQuery", "sendMessage"]


OUTSIDE_BMP = st.characters(min_codepoint=0x10000)


def names(maximum: int) -> st.SearchStrategy[str]:
    """Any title or author the catalog takes, markup characters included."""
    return st.text(min_size=1, max_size=maximum) | st.text(
        OUTSIDE_BMP, min_size=1, max_size=maximum
    )


def longest(maximum: int) -> st.SearchStrategy[str]:
    """The longest there is: the maximum in characters outside the BMP."""
    return st.builds(lambda character: character * maximum, OUTSIDE_BMP)


def books(
    titles: st.SearchStrategy[str], authors: st.SearchStrategy[str]
) -> st.SearchStrategy[BookView]:
    return st.builds(
        BookView,
        id=IDS,
        title=titles,
        author=authors,
        stock_quantity=st.integers(min_value=0, max_value=1_000_000),
    )


IDS = st.integers(min_value=1, max_value=MAX_ID)
TITLES = names(TITLE_MAX_LENGTH) | longest(TITLE_MAX_LENGTH)
AUTHORS = names(AUTHOR_MAX_LENGTH) | longest(AUTHOR_MAX_LENGTH)
BOOKS = books(TITLES, AUTHORS)
LONGEST_BOOKS = books(longest(TITLE_MAX_LENGTH), longest(AUTHOR_MAX_LENGTH))
PROPERTIES = settings(max_examples=150, deadline=None)


def telegram_accepts(html: str) -> bool:
    status, _ = FakeBotApi().answer(
        "sendMessage", {"chat_id": ALICE.id, "text": html, "parse_mode": "HTML"}
    )
    return status == 200


@PROPERTIES
@given(
    books=st.lists(BOOKS, min_size=1, max_size=BOOKS_PAGE_SIZE)
    | st.lists(LONGEST_BOOKS, min_size=BOOKS_PAGE_SIZE, max_size=BOOKS_PAGE_SIZE),
    query=st.none() | names(SEARCH_MAX_LENGTH) | longest(SEARCH_MAX_LENGTH),
    number=IDS,
)
def test_any_catalog_page_is_accepted(
    books: list[BookView], query: str | None, number: int
) -> None:
    page = BookPage(tuple(books), number, MAX_ID, MAX_ID, query)
    assert telegram_accepts(catalog_texts.book_page(page))


@PROPERTIES
@given(
    books=st.lists(BOOKS, min_size=1, max_size=RESERVATIONS_PAGE_SIZE)
    | st.lists(LONGEST_BOOKS, min_size=RESERVATIONS_PAGE_SIZE, max_size=RESERVATIONS_PAGE_SIZE),
    status=st.sampled_from(ReservationStatus),
)
def test_any_reservations_page_is_accepted(
    books: list[BookView], status: ReservationStatus
) -> None:
    now = datetime.now(UTC)
    reservations = tuple(
        ReservationView(
            book.id,
            book.id,
            book.title,
            book.author,
            status,
            now,
            now,
            now,
            place_in_line=MAX_ID,
            expected_on=date(2026, 9, 30),
        )
        for book in books
    )
    page = ReservationPage(reservations, 1, MAX_ID, MAX_ID)
    assert telegram_accepts(reservations_texts.reservation_page(page))


@PROPERTIES
@given(book=BOOKS)
def test_any_book_in_a_message_is_accepted(book: BookView) -> None:
    confirmation = Confirmation(MAX_ID, book, MAX_ID, date(2026, 9, 30))
    messages = [
        reservations_texts.back_in_stock(book),
        staff.book_added(book),
        reservations_texts.reserved(confirmation),
        staff.restocked(Restock(book, 0, 1_000_000, 0)),
        refusals.refusal(AlreadyWaiting(book)),
        refusals.refusal(BookInStock(book)),
        refusals.refusal(DuplicateBook(book.id, book.title, book.author)),
    ]
    for html in messages:
        assert telegram_accepts(html)
    assert utf16_length(reservations_texts.reserved_short(confirmation)) <= 200
