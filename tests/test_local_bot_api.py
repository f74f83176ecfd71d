"""The package's local Bot API refuses what Telegram refuses, and limits as Telegram does."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from bot.playground.flood_control import TELEGRAM_LIMITS, FloodLimits
from bot.playground.local_bot_api import LocalBotApi
from bot.playground.updates import UpdateQueue, message_update
from bot.playground.web_chat import WebChat
from bot.services import Services

TOKEN = "1000000001:playground-token-for-the-local-bot-api"
ALICE = {"id": 1001, "is_bot": False, "first_name": "Alice"}


def send(api: LocalBotApi, text: str, **params: Any) -> tuple[int, dict[str, Any]]:
    return api.answer("sendMessage", {"chat_id": 1001, "text": text, **params})


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("<script>x</script>", "unsupported tag script"),
        ("<b>bold</i>", "unmatched </i>"),
        ("<b>never closed", "unclosed tag"),
        ("fish & chips", "unescaped character"),
        ("<b> </b>", "message text is empty"),
        ("😀" * 2048 + "!", "message is too long"),
    ],
)
def test_html_and_lengths_are_checked_as_telegram_does(text: str, refusal: str) -> None:
    status, body = send(LocalBotApi(), text, parse_mode="HTML")
    assert status == 400
    assert refusal in body["description"]


def test_4096_utf16_units_after_parsing_are_accepted() -> None:
    status, _ = send(LocalBotApi(), "<b>" + "😀" * 2048 + "</b>", parse_mode="HTML")
    assert status == 200


def test_button_data_is_1_to_64_bytes() -> None:
    def keyboard(data: str) -> str:
        return json.dumps({"inline_keyboard": [[{"text": "b", "callback_data": data}]]})

    api = LocalBotApi()
    assert send(api, "ok", reply_markup=keyboard("é" * 32))[0] == 200
    status, body = send(api, "no", reply_markup=keyboard("é" * 32 + "x"))
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


def test_an_edit_that_changes_nothing_is_refused_and_a_real_one_is_kept_in_place() -> None:
    api = LocalBotApi()
    _, sent = send(api, "one")
    edit = {"chat_id": 1001, "message_id": sent["result"]["message_id"], "text": "one"}
    status, body = api.answer("editMessageText", edit)
    assert status == 400
    assert "message is not modified" in body["description"]
    assert api.answer("editMessageText", dict(edit, text="two"))[0] == 200
    assert [message["text"] for message in api.messages_in(1001)] == ["two"]


def test_a_callback_query_is_answered_once() -> None:
    api = LocalBotApi()
    assert api.answer("answerCallbackQuery", {"callback_query_id": "7", "text": "hi"})[0] == 200
    status, body = api.answer("answerCallbackQuery", {"callback_query_id": "7"})
    assert status == 400
    assert "query ID is invalid" in body["description"]
    too_long = {"callback_query_id": "8", "text": "x" * 201}
    assert api.answer("answerCallbackQuery", too_long)[0] == 400


def test_flood_limits_answer_429_with_retry_after() -> None:
    api = LocalBotApi(limits=FloodLimits(per_second=3, per_chat_per_second=1))
    assert send(api, "first")[0] == 200
    status, body = send(api, "second, same chat, same second")
    assert (status, body["parameters"]) == (429, {"retry_after": 1})
    for chat in (2, 3):
        assert api.answer("sendMessage", {"chat_id": chat, "text": "x"})[0] == 200
    assert api.answer("sendMessage", {"chat_id": 4, "text": "fourth"})[0] == 429


class Clock:
    """The seconds a LocalBotApi counts its limits in, moved by the test alone."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_telegrams_limits_let_a_short_burst_through_in_a_chat_and_no_more() -> None:
    clock = Clock()
    api = LocalBotApi(limits=TELEGRAM_LIMITS, clock=clock)
    # /demand's three replies at once, as Telegram lets them through.
    assert [send(api, f"reply {n}")[0] for n in range(3)] == [200, 200, 200]
    status, body = send(api, "a fourth at once")
    assert (status, body["parameters"]) == (429, {"retry_after": 1})
    clock.now += 1.05  # one a second given back, not the whole burst
    assert [send(api, f"later {n}")[0] for n in range(2)] == [200, 429]
    assert api.answer("sendMessage", {"chat_id": 2, "text": "another chat"})[0] == 200


def test_a_bot_that_keeps_sending_faster_than_one_a_second_to_a_chat_meets_429() -> None:
    clock = Clock()
    api = LocalBotApi(limits=TELEGRAM_LIMITS, clock=clock)
    answers = []
    for n in range(20):  # one every 0.8 s: the burst runs out, then 429, as on Telegram
        answers.append(send(api, f"message {n}")[0])
        clock.now += 0.8
    assert 429 in answers[:16]
    # Retrying after retry_after gets through.
    status, body = send(api, "again")
    while status == 429:
        clock.now += body["parameters"]["retry_after"]
        status, body = send(api, "again")
    assert status == 200


def test_a_users_menu_is_the_most_specific_one_set_in_their_language_first() -> None:
    api = LocalBotApi()

    def menu(description: str, **params: Any) -> None:
        commands = [{"command": "help", "description": description}]
        assert api.answer("setMyCommands", {"commands": commands, **params})[0] == 200

    menu("everyone")
    menu("всем", language_code="ru")
    menu("staff", scope={"type": "chat", "chat_id": 9001})
    descriptions = {
        (chat, language): api.menus.menu_for(chat, language)[0]["description"]
        for chat in (1001, 9001)
        for language in ("en", "ru")
    }
    assert descriptions == {
        (1001, "en"): "everyone",
        (1001, "ru"): "всем",
        (9001, "en"): "staff",
        (9001, "ru"): "staff",
    }
    assert api.menus.commands == [{"command": "help", "description": "everyone"}]
    scope = json.dumps({"type": "chat", "chat_id": 9001})
    assert api.answer("deleteMyCommands", {"scope": scope})[0] == 200
    assert api.menus.menu_for(9001, "ru")[0]["description"] == "всем"


def test_a_menu_button_opening_a_web_app_is_kept_per_chat_and_by_default() -> None:
    api = LocalBotApi()
    assert api.menus.button_for(1001) == {"type": "commands"}
    catalog = {
        "type": "web_app",
        "text": "Catalog",
        "web_app": {"url": "https://shop.example/app"},
    }
    assert api.answer("setChatMenuButton", {"menu_button": json.dumps(catalog)}) == (
        200,
        {"ok": True, "result": True},
    )
    assert api.menus.button_for(1001) == catalog
    assert api.answer("getChatMenuButton", {"chat_id": 1001})[1]["result"] == catalog
    # A chat's own button comes first; the default one again once it is removed.
    assert api.answer("setChatMenuButton", {"chat_id": 1002, "menu_button": {"type": "commands"}})
    mine = dict(catalog, text="Mine")
    assert api.answer("setChatMenuButton", {"chat_id": 1002, "menu_button": mine})[0] == 200
    assert api.menus.button_for(1002)["text"] == "Mine"
    assert api.menus.button_for(1001)["text"] == "Catalog"
    assert api.answer("setChatMenuButton", {"chat_id": 1002})[0] == 200
    assert api.menus.button_for(1002)["text"] == "Catalog"
    # Telegram opens web apps over HTTPS only (here, plain HTTP to this machine too).
    for refused in (
        dict(catalog, web_app={"url": "http://shop.example/app"}),
        dict(catalog, web_app={"url": "javascript:alert(1)"}),
        dict(catalog, web_app={}),
        dict(catalog, text=""),
        {"type": "bogus"},
        "{not json",
    ):
        status, body = api.answer("setChatMenuButton", {"menu_button": refused})
        assert (status, body["ok"]) == (400, False), refused
    local = dict(catalog, web_app={"url": "http://127.0.0.1:8080/app"})
    assert api.answer("setChatMenuButton", {"menu_button": local})[0] == 200
    # A web_app button on a message is checked the same way.
    markup = {"inline_keyboard": [[{"text": "Open", "web_app": {"url": "http://x.example/"}}]]}
    assert api.answer("sendMessage", {"chat_id": 1, "text": "a", "reply_markup": markup})[0] == 400


def test_command_menu_users_messages_and_unknown_methods() -> None:
    api = LocalBotApi()
    menu = json.dumps([{"command": "books", "description": "the catalog"}])
    assert api.answer("setMyCommands", {"commands": menu})[0] == 200
    assert api.menus.commands == [{"command": "books", "description": "the catalog"}]
    api.receive(ALICE, "/books")
    send(api, "the answer")
    assert [message["text"] for message in api.messages_in(1001)] == ["/books", "the answer"]
    assert api.answer("sendSticker", {"chat_id": 1001})[0] == 404


async def test_get_updates_waits_for_an_update_and_its_offset_confirms_it() -> None:
    queue = UpdateQueue()
    polling = asyncio.create_task(queue.get_updates({"timeout": 5}))
    await asyncio.sleep(0.05)
    assert not polling.done()
    queue.push(message_update(queue.next_id(), {"message_id": 1, "text": "/start"}))
    [update] = await asyncio.wait_for(polling, 1)
    assert update["message"]["entities"][0]["type"] == "bot_command"
    assert await queue.get_updates({"offset": update["update_id"] + 1}) == []


async def test_the_web_chat_refuses_what_no_telegram_client_could_send(
    engine: AsyncEngine, services: Services
) -> None:
    api = LocalBotApi()
    web_chat = WebChat(TOKEN, api, engine, services)
    transport = httpx.ASGITransport(app=Starlette(routes=web_chat.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://playground") as client:
        assert (await client.post("/botWRONG:token/getMe")).status_code == 401
        assert (await client.post(f"/bot{TOKEN}/getMe")).json()["result"]["is_bot"] is True
        _, sent = send(
            api,
            "catalog",
            reply_markup={"inline_keyboard": [[{"text": "Reserve", "callback_data": "r:1"}]]},
        )
        message_id = sent["result"]["message_id"]
        refused = [
            await client.post("/api/send", json={"persona": 42, "text": "hi"}),
            await client.post("/api/send", json={"persona": 1001, "text": "  "}),
            await client.post(
                "/api/send", content=b"\xff", headers={"Content-Type": "application/json"}
            ),
            await client.post(
                "/api/press", json={"persona": 1002, "message_id": message_id, "data": "r:1"}
            ),
            await client.post(
                "/api/press", json={"persona": 1001, "message_id": message_id, "data": "r:2"}
            ),
        ]
        refused += [
            await client.post("/api/send", json={"persona": [1001], "text": "hi"}),
            await client.post(
                "/api/press", json={"persona": 1001, "message_id": message_id, "data": ["r:1"]}
            ),
        ]
        assert [answer.status_code for answer in refused] == [400] * 7
        assert await web_chat.updates.get_updates({}) == []
        pressed = {"persona": 1001, "message_id": message_id, "data": "r:1"}
        assert (await client.post("/api/press", json=pressed)).status_code == 200
        [update] = await web_chat.updates.get_updates({})
        assert update["callback_query"]["message"]["text"] == "catalog"
