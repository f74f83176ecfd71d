"""A button's spinner that Telegram fails to stop for a moment (a 5xx) is stopped all the
same: the answer is asked again while the press is young, never past its life, and a
refusal for good (the query too old) is not asked again. A Telegram that stalls on
answers (a spinner's, or a refusal's alert) holds up no other reader, and an answer taken
before its 502 is not given twice. A reply to an answer that PTB can't read is logged, not
told to the reader as a failure of her press.

Presses go through the Application's update queue, as polling feeds them."""

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot.playground.local_bot_api import SentRequest
from bot.playground.telegram_rules import QUERY_INVALID
from bot.services import Services
from bot.telegram import callback_answers
from bot.telegram.callback_answers import CALLBACK_LIFE_SECONDS
from bot.telegram.context import BotApplication
from bot.telegram.update_processor import MAX_RUNNING_HANDLERS, PerReaderUpdateProcessor
from bot.users.schemas import Reader
from tests.chat import ALICE, Person, callback_update, catalog_message
from tests.conftest import bot_application, running
from tests.db import add_books
from tests.fake_telegram import FakeBotApi

# Tests of the spinner deadline itself: the real 0.2 s (conftest unhurries the others).
pytestmark = pytest.mark.spinner_deadline

BAD_GATEWAY = (502, "Bad Gateway")
QUERY_ID = "7"


async def press_reserve(application: BotApplication, api: FakeBotApi) -> float:
    """Alice presses Reserve under the catalog; returns when the bot has told her the
    outcome (the spinner's answer, or its last try, comes before that), and when she
    pressed."""
    data = callback_update(int(QUERY_ID), ALICE, "r:1", catalog_message(ALICE))
    pressed = time.monotonic()
    await application.update_queue.put(Update.de_json(data, application.bot))
    async with asyncio.timeout(CALLBACK_LIFE_SECONDS + 5):
        while not api.received(ALICE.id, "Reserved"):
            await asyncio.sleep(0.01)
    return pressed


def answers(api: FakeBotApi) -> list[SentRequest]:
    return api.sent("answerCallbackQuery")


async def test_a_spinner_answer_refused_with_a_502_is_tried_again(services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    api = FakeBotApi(failing_calls={"answerCallbackQuery": [BAD_GATEWAY]})
    async with running(bot_application(services, api)) as application:
        await press_reserve(application, api)
    assert [(a.params["callback_query_id"], a.error_code) for a in answers(api)] == [
        (QUERY_ID, 502),
        (QUERY_ID, None),
    ]


# Telegram stalls: each try hangs until its read timeout (0.4 s here); or a proxy answers
# a 502 only after 0.4 s, each time. With a life of 1.2 s, a retry started while the press
# is young (at most 0.2 s to the first try, 0.4 s, 0.5 s to the retry) would still be
# under way after it.
STALLS: dict[str, tuple[Callable[[], FakeBotApi], int]] = {
    "hangs": (lambda: FakeBotApi(answer_delay=60.0, read_timeout=0.4), 1),
    "slow_502s": (
        lambda: FakeBotApi(
            answer_delay=0.4, failing_calls={"answerCallbackQuery": [BAD_GATEWAY] * 100}
        ),
        2,
    ),
}


@pytest.mark.parametrize("stall", STALLS.keys())
async def test_a_spinner_answer_ends_by_the_callbacks_life(
    services: Services, monkeypatch: pytest.MonkeyPatch, stall: str
) -> None:
    life = 1.2
    monkeypatch.setattr(callback_answers, "CALLBACK_LIFE_SECONDS", life)
    await add_books(services, ("Dune", "Frank Herbert", 0))
    stalled_api, tries = STALLS[stall]
    api = stalled_api()
    async with running(bot_application(services, api)) as application:
        pressed = await press_reserve(application, api)
    # The bot has stopped: nothing goes on trying after it.
    assert all(start < pressed + life for start, _ in api.answer_spans)
    assert all(end < pressed + life + 0.05 for _, end in api.answer_spans)
    assert len(api.answer_spans) == tries  # a try that timed out may have been taken


async def test_hanging_spinner_answers_hold_up_no_other_reader(
    services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    # Telegram hangs on every answer until its read timeout (0.5 s here).
    api = FakeBotApi(answer_delay=60.0, read_timeout=0.5)
    readers = [Person(60_000 + n, f"Reader {n}") for n in range(MAX_RUNNING_HANDLERS + 1)]
    *pressing, last = readers
    async with running(bot_application(services, api)) as application:
        for update_id, person in enumerate(pressing, start=1):
            data = callback_update(update_id, person, "r:1", catalog_message(person))
            await application.update_queue.put(Update.de_json(data, application.bot))
        # As many presses as running slots, each reserved and stopping its spinner.
        async with asyncio.timeout(10):
            while await reservations(engine) < len(pressing):
                await asyncio.sleep(0.01)
        data = callback_update(len(readers), last, "r:1", catalog_message(last))
        await application.update_queue.put(Update.de_json(data, application.bot))
        pressed = time.monotonic()
        async with asyncio.timeout(10):
            while not api.received(last.id, "Reserved"):
                await asyncio.sleep(0.01)
        assert time.monotonic() - pressed < 1.0
    assert all(api.received(person.id, "Reserved") for person in readers)


async def reservations(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (await connection.execute(text("SELECT count(*) FROM pre_bookings"))).scalar_one()
        )


async def test_a_press_near_the_end_of_its_life_is_not_tried_after_it(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A life of 1.2 s: the second retry (after 0.5 s, then 1 s) would come after it.
    monkeypatch.setattr(callback_answers, "CALLBACK_LIFE_SECONDS", 1.2)
    await add_books(services, ("Dune", "Frank Herbert", 0))
    api = FakeBotApi(failing_calls={"answerCallbackQuery": [BAD_GATEWAY] * 100})
    async with running(bot_application(services, api)) as application:
        pressed = await press_reserve(application, api)
        await asyncio.sleep(1.5)
    assert 1 <= len(answers(api)) <= 2
    assert all(a.at < pressed + 1.2 for a in answers(api))


async def test_a_refusals_alert_refused_with_a_502_is_tried_again(services: Services) -> None:
    api = FakeBotApi(failing_calls={"answerCallbackQuery": [BAD_GATEWAY]})
    async with running(bot_application(services, api)) as application:
        forged = callback_update(int(QUERY_ID), ALICE, "x:1", catalog_message(ALICE))
        await application.update_queue.put(Update.de_json(forged, application.bot))
        async with asyncio.timeout(5):
            while not [a for a in answers(api) if a.error_code is None]:
                await asyncio.sleep(0.01)
    [refused, alert] = answers(api)
    assert refused.error_code == 502
    assert alert.params["show_alert"] is True


async def test_a_query_too_old_is_not_asked_again(services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    api = FakeBotApi(failing_calls={"answerCallbackQuery": [(400, QUERY_INVALID)]})
    async with running(bot_application(services, api)) as application:
        await press_reserve(application, api)
        await asyncio.sleep(1.0)
    assert [a.error_code for a in answers(api)] == [400]


# failing_replies: Telegram took the answer, but a proxy's 502 came back instead of its
# reply; asked again, Telegram says the query is too old (answered already).


async def test_an_alert_taken_before_its_502_is_not_said_again_in_the_chat(
    services: Services,
) -> None:
    api = FakeBotApi(failing_replies={"answerCallbackQuery": [BAD_GATEWAY]})
    async with running(bot_application(services, api)) as application:
        forged = callback_update(int(QUERY_ID), ALICE, "x:1", catalog_message(ALICE))
        await application.update_queue.put(Update.de_json(forged, application.bot))
        async with asyncio.timeout(5):
            while len(answers(api)) < 2:
                await asyncio.sleep(0.01)
    # The bot has stopped: the failure's handling (any message in the chat) is over.
    assert [(a.error_code, a.description) for a in answers(api)] == [
        (502, ""),
        (400, QUERY_INVALID),
    ]
    assert api.sent("sendMessage", chat_id=ALICE.id) == []


async def test_an_early_answer_taken_before_its_502_is_not_given_again(
    services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await services.reservations.list_reservations(Reader(ALICE.id, ALICE.id))
    api = FakeBotApi(failing_replies={"answerCallbackQuery": [BAD_GATEWAY] * 2})
    async with running(bot_application(services, api)) as application:
        async with engine.connect() as connection, connection.begin():
            # Alice's first press waits on her row; her second waits for its turn and
            # has its spinner stopped early: taken by Telegram, but the reply is a 502.
            await connection.execute(
                text("SELECT 1 FROM users WHERE telegram_id = :id FOR UPDATE"), {"id": ALICE.id}
            )
            for query_id, book_id in ((7, 1), (8, 2)):
                data = callback_update(query_id, ALICE, f"r:{book_id}", catalog_message(ALICE))
                await application.update_queue.put(Update.de_json(data, application.bot))
            await asyncio.sleep(1.0)  # the early answer's retry is refused meanwhile
        async with asyncio.timeout(5):
            while api.received(ALICE.id, "Reserved") < 2:
                await asyncio.sleep(0.01)
    # The retry's 400 says the early answer was taken: her handler doesn't answer again.
    second = [a.error_code for a in answers(api) if a.params["callback_query_id"] == "8"]
    assert second == [502, 400]


async def test_stalled_alerts_hold_up_no_other_reader(services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    # Each answer gets a 502 after 0.4 s: a refusal's alert is tried again for seconds.
    api = FakeBotApi(answer_delay=0.4, failing_calls={"answerCallbackQuery": [BAD_GATEWAY] * 1000})
    readers = [Person(70_000 + n, f"Reader {n}") for n in range(MAX_RUNNING_HANDLERS + 1)]
    *forging, last = readers
    async with running(bot_application(services, api)) as application:
        processor = application.update_processor
        assert isinstance(processor, PerReaderUpdateProcessor)
        # As many forged presses as running slots, each refused at once with an alert.
        for update_id, person in enumerate(forging, start=1):
            data = callback_update(update_id, person, "x:1", catalog_message(person))
            await application.update_queue.put(Update.de_json(data, application.bot))
        async with asyncio.timeout(10):
            while len(processor._answered) < len(forging):
                await asyncio.sleep(0.01)
        data = callback_update(len(readers), last, "r:1", catalog_message(last))
        await application.update_queue.put(Update.de_json(data, application.bot))
        pressed = time.monotonic()
        async with asyncio.timeout(10):
            while not api.received(last.id, "Reserved"):
                await asyncio.sleep(0.01)
        assert time.monotonic() - pressed < 1.0
    forged = [a for a in answers(api) if a.params["callback_query_id"] != str(len(readers))]
    assert forged
    assert all(a.params["show_alert"] is True for a in forged)


# A reply Telegram's client can't read (a proxy's 200 with no result in its body).
MALFORMED = (200, "")


async def test_an_unreadable_answer_reply_is_logged_not_told(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    api = FakeBotApi(failing_replies={"answerCallbackQuery": [MALFORMED]})
    async with running(bot_application(services, api)) as application:
        await press_reserve(application, api)
        await asyncio.sleep(0.3)
    # Her reservation went through: no "something went wrong" after it.
    assert [t for t in api.texts_to(ALICE.id) if "something went wrong" in t] == []
    [unread] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert unread.exc_info is not None
    assert unread.exc_info[0] is KeyError
    # Her press is forgotten once handled.
    processor = application.update_processor
    assert isinstance(processor, PerReaderUpdateProcessor)
    assert (processor._answered, processor._pressed_at) == (set(), {})
