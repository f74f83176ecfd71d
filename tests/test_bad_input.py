"""Malformed commands and forged buttons: a clear answer, and nothing changes."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.database import create_engine
from bot.services import Services, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, ALICE, Chat, Person
from tests.conftest import bot_application, running
from tests.db import add_books, failing_trigger, snapshot
from tests.fake_telegram import FakeBotApi

HUGE = "9" * 5000

COMMANDS = [
    (ALICE, "/reserve", "Usage: /reserve &lt;book id&gt;"),
    (ALICE, "/reserve abc", "Usage: /reserve"),
    (ALICE, "/reserve 1 2", "Usage: /reserve"),
    (ALICE, "/reserve -1", "Usage: /reserve"),
    (ALICE, "/reserve 0", "Usage: /reserve"),
    (ALICE, "/reserve 1.5", "Usage: /reserve"),
    (ALICE, "/reserve ١٢", "Usage: /reserve"),
    (ALICE, "/reserve 9223372036854775808", "Usage: /reserve"),
    (ALICE, f"/reserve {HUGE}", "Usage: /reserve"),
    (ALICE, "/reserve 9223372036854775807", "There is no book #9223372036854775807"),
    (ALICE, "/cancel", "Usage: /cancel"),
    (ALICE, "/cancel seven", "Usage: /cancel"),
    (ALICE, f"/cancel {HUGE}", "Usage: /cancel"),
    (ALICE, "/cancel 5", "You have no reservation #5"),
    (ALICE, "/until", "Usage: /until &lt;reservation id&gt; &lt;YYYY-MM-DD&gt;"),
    (ALICE, "/until 5", "Usage: /until"),
    (ALICE, "/until 5 2026-13-01", "Usage: /until"),
    (ALICE, f"/until {HUGE} never", "Usage: /until"),
    (ALICE, "/until 5 never", "You have no reservation #5"),
    (ALICE, "/search", "Usage: /search &lt;part of a title or author&gt;"),
    (ALICE, "/search    ", "Usage: /search"),
    (ALICE, "/books " + "x" * 5000, "Please search with at most 100 characters."),
    (ALICE, "/frobnicate", "I don't know that command."),
    (ALICE, "/" + "x" * 4000, "I don't know that command."),
    (ALICE, "hello there", "I understand commands only."),
    (ALICE, "x" * 5000, "I understand commands only."),
    (ADMIN, "/restock", "Usage: /restock &lt;book id&gt; &lt;quantity&gt;"),
    (ADMIN, "/restock 1", "Usage: /restock"),
    (ADMIN, "/restock 1 2 3", "Usage: /restock"),
    (ADMIN, "/restock x 2", "Usage: /restock"),
    (ADMIN, "/restock 1 lots", "Usage: /restock"),
    (ADMIN, f"/restock 1 {HUGE}", "Usage: /restock"),
    (ADMIN, "/restock 1 -5", "The quantity must be a whole number from 0 to 1,000,000."),
    (ADMIN, "/restock 1 1000001", "The quantity must be a whole number from 0 to 1,000,000."),
    (ADMIN, "/restock 42 1", "There is no book #42"),
    (ADMIN, "/addbook", "Usage: /addbook"),
    (ADMIN, "/addbook Title only", "Usage: /addbook"),
    (ADMIN, "/addbook Title | Author", "Usage: /addbook"),
    (ADMIN, "/addbook Title | Author | many", "Usage: /addbook"),
    (ADMIN, "/addbook Title | Author | 1 | 2", "“2” is not a valid ISBN"),
    (ADMIN, "/addbook Title | Author | 1 | 2 | 3", "Usage: /addbook"),
    (ADMIN, "/addbook  | Author | 1", "Usage: /addbook"),
    (ADMIN, "/addbook Title | Author | -3", "The quantity must be a whole number"),
    (ADMIN, f"/addbook {'T' * 5000} | Author | 1", "The title must be between 1 and 255"),
    (ADMIN, f"/addbook Title | {'A' * 300} | 1", "The author must be between 1 and 255"),
]


@pytest.mark.parametrize(
    ("person", "command", "answer"),
    COMMANDS,
    ids=[command[:30] for _, command, _ in COMMANDS],
)
async def test_bad_command_gets_a_clear_reply_and_changes_nothing(
    chat: Chat,
    services: Services,
    engine: AsyncEngine,
    person: Person,
    command: str,
    answer: str,
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(person, "/start")
    before = await snapshot(engine)
    reply = await chat.send_one(person, command)
    assert reply.chat_id == person.id
    assert reply.text.startswith(answer), reply.text
    assert await snapshot(engine) == before


FORGED = [
    "",
    "x",
    "r",
    "r:",
    "r:abc",
    "r:-1",
    "r:0",
    "r:1:2",
    "r: 1",
    "r:01x",
    "r:9223372036854775808",
    "r:" + "9" * 60,
    "c:1",
    "c:1:0",
    "c:abc:1",
    "c:1:100001",
    "b:",
    "b:0",
    "b:-3",
    "m:",
    "m:1:2",
    "z:1",
    "é" * 32,
    "\x00\x01",
]


@pytest.mark.parametrize("data", FORGED, ids=[repr(data)[:20] for data in FORGED])
async def test_forged_button_gets_an_alert_and_changes_nothing(
    chat: Chat, services: Services, engine: AsyncEngine, data: str
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    catalog = await chat.send_one(ALICE, "/books")
    before = await snapshot(engine)
    [answer] = await chat.press_data(ALICE, data, catalog)
    assert answer.method == "answerCallbackQuery"
    assert answer.params["show_alert"] is True
    assert answer.params["text"].startswith("That button is out of date.")
    assert await snapshot(engine) == before


async def test_button_without_data_is_answered(chat: Chat, services: Services) -> None:
    catalog = await chat.send_one(ALICE, "/books")
    update = {
        "update_id": 900,
        "callback_query": {
            "id": "900",
            "from": ALICE.as_user(),
            "chat_instance": "x",
            "game_short_name": "chess",
            "message": chat.current(catalog),
        },
    }
    [answer] = await chat.feed(update)
    assert answer.method == "answerCallbackQuery"


async def test_stale_buttons_get_the_current_answer(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    catalog = await chat.send_one(ALICE, "/books")
    await chat.send_one(ALICE, "/reserve 1")
    listing = await chat.send_one(ALICE, "/myreservations")

    # The Cancel button after a /cancel by command.
    await chat.send_one(ALICE, "/cancel 1")
    [answer] = await chat.press(ALICE, "Cancel #1", listing)
    assert answer.params["text"] == "Reservation #1 can't be cancelled: it is already cancelled."

    # The Reserve button after the book came back.
    await chat.send_one(ADMIN, "/restock 1 2")
    [answer] = await chat.press(ALICE, "Reserve #1", catalog)
    assert answer.params["show_alert"] is True
    assert answer.params["text"].startswith("Dune by Frank Herbert is in stock (2)")


async def test_another_readers_cancel_button_is_refused(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    listing = await chat.send_one(ALICE, "/myreservations")
    before = await snapshot(engine)
    mallory = Person(6666, "Mallory")
    [answer] = await chat.press_data(mallory, "c:1:1", chat.current(listing))
    assert answer.params["text"].startswith("You have no reservation #1.")
    after = await snapshot(engine)
    assert after["pre_bookings"] == before["pre_bookings"]


async def test_double_tap_on_a_page_button(chat: Chat, services: Services) -> None:
    """Telegram refuses an edit that changes nothing; the bot shrugs it off."""
    await add_books(services, *[(f"Book {n}", "Someone", 1) for n in range(7)])
    catalog = await chat.send_one(ALICE, "/books")
    data = next(data for label, data in chat.current_buttons(catalog) if label == "Next ›")
    await chat.press_data(ALICE, data, catalog)
    second = await chat.press_data(ALICE, data, catalog)
    assert [request.method for request in second] == ["answerCallbackQuery", "editMessageText"]
    assert second[1].error_code == 400
    assert "page 2 of 2" in chat.current(catalog)["text"]


async def test_unexpected_failure_is_logged_and_told(
    chat: Chat, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    async with failing_trigger(engine, "users", "BEFORE INSERT", "something odd"):
        reply = await chat.send_one(ALICE, "/start")
    assert reply.text == "Sorry, something went wrong on my side. Please try again in a moment."
    assert any(record.levelname == "ERROR" and record.exc_info for record in caplog.records)


async def test_database_outage_is_told_as_temporary(api: FakeBotApi) -> None:
    # Nothing listens on port 1: connecting fails at once.
    unreachable = create_engine("postgresql://nobody@127.0.0.1:1/none")
    services = build_services(unreachable, TelegramMessages())
    async with running(bot_application(services, api)) as application:
        reply = await Chat(application, api).send_one(ALICE, "/myreservations")
    await unreachable.dispose()
    assert reply.text.startswith("The bookstore's system is temporarily unavailable.")


async def test_button_on_a_message_that_can_no_longer_be_edited(
    chat: Chat, services: Services
) -> None:
    """Deleted or too old to edit: the reader gets the page as a new message."""
    await add_books(services, *[(f"Book {n}", "Someone", 1) for n in range(7)])
    catalog = await chat.send_one(ALICE, "/books")
    gone = dict(chat.current(catalog), message_id=424242)
    replies = await chat.press_data(ALICE, "b:2", gone)
    assert [(request.method, request.error_code) for request in replies] == [
        ("answerCallbackQuery", None),
        ("editMessageText", 400),
        ("sendMessage", None),
    ]
    assert "page 2 of 2" in replies[2].text


GROUP = {"id": -100123, "type": "supergroup", "title": "Book club"}
ANONYMOUS_ADMIN = Person(1087968824, "Group")


@pytest.mark.parametrize("person", [ALICE, ANONYMOUS_ADMIN, ADMIN])
@pytest.mark.parametrize("command", ["/start", "/books", "/reserve 1", "/myreservations"])
async def test_group_chats_are_sent_to_a_private_chat(
    chat: Chat, services: Services, engine: AsyncEngine, person: Person, command: str
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    before = await snapshot(engine)
    [reply] = await chat.send(person, command, chat=GROUP)
    assert reply.chat_id == GROUP["id"]
    assert reply.text == "Reservations are personal: please talk to me in a private chat."
    assert await snapshot(engine) == before


async def test_other_commands_in_groups_get_no_answer(chat: Chat) -> None:
    assert await chat.send(ALICE, "/weather", chat=GROUP) == []
    assert await chat.send(ALICE, "good morning", chat=GROUP) == []


async def test_button_on_an_inaccessible_message(chat: Chat, services: Services) -> None:
    """Telegram sends a stub (date 0) for messages older than 48 hours."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    inaccessible = {"chat": ALICE.private_chat(), "message_id": 5, "date": 0}
    replies = await chat.press_data(ALICE, "c:1:1", inaccessible)
    assert [request.method for request in replies] == ["answerCallbackQuery", "sendMessage"]
    assert "✖️ cancelled on" in replies[1].text


async def test_control_characters_are_dropped_from_searches_and_titles(
    chat: Chat, engine: AsyncEngine
) -> None:
    """Found by the property tests: PostgreSQL refuses NUL in text."""
    search = await chat.send_one(ALICE, "/books du\x00ne")
    assert "No books match “du ne”" in search.text
    added = await chat.send_one(ADMIN, "/addbook Du\x00ne\x07 | Frank\x1bHerbert | 0")
    assert added.text.startswith("Added #1 <b>Du ne</b> by Frank Herbert")
