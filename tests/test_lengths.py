"""Lengths as Telegram counts them: UTF-16 code units, measured after HTML parsing.

Titles and authors at their maximum length (255 characters) outside the Basic Multilingual
Plane take two units a character: every page, report and alert must still be accepted.
"""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.books.models import AUTHOR_MAX_LENGTH, TITLE_MAX_LENGTH
from bot.services import Services
from bot.telegram import texts
from bot.telegram.lengths import truncated, utf16_length
from tests.chat import ADMIN, ALICE, Chat
from tests.db import add_books
from tests.fake_telegram import FakeBotApi, SentRequest

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
    for description in [*texts.READER_COMMANDS.values(), *texts.ADMIN_COMMANDS.values()]:
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
