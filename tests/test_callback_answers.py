"""A button's spinner that Telegram fails to stop for a moment (a 5xx) is stopped all the
same: the answer is asked again while the press is young, never past its life, and a
refusal for good (the query too old) is not asked again.

Presses go through the Application's update queue, as polling feeds them."""

import asyncio
import time

import pytest
from telegram import Update

from bot.playground.local_bot_api import SentRequest
from bot.playground.telegram_rules import QUERY_INVALID
from bot.services import Services
from bot.telegram import callback_answers
from bot.telegram.callback_answers import CALLBACK_LIFE_SECONDS
from bot.telegram.context import BotApplication
from tests.chat import ALICE, callback_update, catalog_message
from tests.conftest import bot_application, running
from tests.db import add_books
from tests.fake_telegram import FakeBotApi

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


async def test_a_spinner_answer_is_not_tried_past_the_callbacks_life(
    services: Services,
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    api = FakeBotApi(failing_calls={"answerCallbackQuery": [BAD_GATEWAY] * 100})
    async with running(bot_application(services, api)) as application:
        pressed = await press_reserve(application, api)
        tries = len(answers(api))
        await asyncio.sleep(2.0)  # nothing goes on trying in the background
        assert len(answers(api)) == tries
    assert 2 <= tries <= 3
    assert all(a.error_code == 502 for a in answers(api))
    assert answers(api)[-1].at < pressed + CALLBACK_LIFE_SECONDS


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
