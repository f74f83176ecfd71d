"""Property-based: arbitrary text after every command, arbitrary data in every button.
No update makes the bot fail, and whatever it refuses leaves the database as it was."""

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from bot.telegram.texts import formatting, refusals
from tests.chat import ADMIN, ALICE, Chat
from tests.db import add_books, snapshot

COMMANDS = [
    "start",
    "help",
    "books",
    "search",
    "reserve",
    "myreservations",
    "cancel",
    "pause",
    "resume",
    "until",
    "restock",
    "addbook",
    "deliveries",
    "withdraw",
    "request",
    "unrequest",
    "requests",
    "order",
    "decline",
    "frobnicate",
]
# Replies that report a change; any other reply must leave the database untouched.
CHANGES = (
    "Reserved",
    "Cancelled reservation",
    "Stock of",
    "Added #",
    "⏸ Paused reservation",
    "▶️ Resumed reservation",
    "#1 <b>Dune</b> by Frank Herbert is withdrawn",
    "#2 <b>Emma</b> by Jane Austen is withdrawn",
    "Reservation #1 for",
    "📮",
)
CALLBACK_CHANGES = (
    "Reserved:",
    "Reservation cancelled",
    "Reservation paused",
    "Reservation resumed",
    "Only needed until",
    "No end date",
)
FAILED = refusals.something_went_wrong()
HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NEAR_VALID_DATA = st.from_regex(r"\A([rcbmux]|ps|rs|wr|so|rq):-?[0-9]{0,25}(:[0-9a-z]{0,8})?\Z")


@pytest.fixture
async def shop(chat: Chat, services: Services) -> Chat:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 2))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send_one(ADMIN, "/start")
    return chat


@HYPOTHESIS
@given(
    command=st.sampled_from(COMMANDS),
    argument=st.text(max_size=300),
    staff=st.booleans(),
)
async def test_any_text_after_any_command(
    shop: Chat,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    command: str,
    argument: str,
    staff: bool,
) -> None:
    person = ADMIN if staff else ALICE
    before = await snapshot(engine)
    replies = await shop.send(person, f"/{command} {argument}")
    # The reply; a withdrawal's notice to Alice may go out meanwhile.
    sent = [r for r in replies if r.method == "sendMessage" and r.chat_id == person.id]
    assert len(sent) == 1, replies
    assert sent[0].error_code is None, sent[0]  # Telegram accepted it: valid HTML, not too long
    assert sent[0].text != FAILED
    if not sent[0].text.startswith(CHANGES):
        assert await snapshot(engine) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@HYPOTHESIS
@given(data=st.one_of(st.text(max_size=100), NEAR_VALID_DATA), staff=st.booleans())
async def test_any_data_in_any_button(
    shop: Chat,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    data: str,
    staff: bool,
) -> None:
    person = ADMIN if staff else ALICE
    listing = await shop.send_one(person, "/myreservations")
    before = await snapshot(engine)
    replies = await shop.press_data(person, data, listing)
    answers = [reply for reply in replies if reply.method == "answerCallbackQuery"]
    assert len(answers) == 1, replies  # the spinner always stops
    assert answers[0].error_code is None
    assert all(reply.error_code in (None, 400) for reply in replies)  # 400: edit unchanged
    text = answers[0].params.get("text", "")
    assert formatting.as_plain(FAILED) != text
    if not text.startswith(CALLBACK_CHANGES):
        assert await snapshot(engine) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
