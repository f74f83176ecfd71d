"""What the playground shows of the bot, without a browser: the files it sends, served as
what they are, and its replies let through as Telegram lets them through.

Over real HTTP to the running playground (uvicorn), as its page and the bot use it.
"""

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.playground.runner import Playground
from tests.playground import playground_on

ALICE, DANA = 1001, 9001
WAIT_SECONDS = 15.0


@pytest.fixture
async def playground(server_url: str) -> AsyncIterator[Playground]:
    async with playground_on(server_url) as running:
        yield running


@pytest.fixture
async def client(playground: Playground) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=playground.url, timeout=10) as http:
        yield http


async def say(client: httpx.AsyncClient, persona: int, text: str) -> None:
    answer = await client.post("/api/send", json={"persona": persona, "text": text})
    assert answer.status_code == 200, answer.text


async def until(condition: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (found := condition()):
        assert time.monotonic() < deadline, "the bot did not answer in time"
        await asyncio.sleep(0.05)
    return found


async def demand_report(playground: Playground, client: httpx.AsyncClient) -> list[Any]:
    """A reader waits for Dune, then the staff member asks for /demand: its three replies."""
    api = playground.web_chat.api
    await say(client, ALICE, "/reserve 1")
    await until(lambda: api.received(ALICE, "Reserved"))
    await say(client, DANA, "/demand")
    return list(
        await until(
            lambda: (
                [m for m in api.messages_in(DANA) if m.get("document")] and api.messages_in(DANA)
            )
        )
    )


async def test_a_photo_is_served_as_its_image_and_a_document_as_a_named_download(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    messages = await demand_report(playground, client)
    [photo] = [m for m in messages if m.get("photo")]
    [document] = [m for m in messages if m.get("document")]
    state = (await client.get("/api/state")).json()
    shown = state["chats"][str(DANA)]
    [shown_photo] = [m for m in shown if "photo" in m]
    [shown_document] = [m for m in shown if "document" in m]

    # The chart: PTB uploads unnamed bytes as "application.octet-stream"; it is a PNG.
    picture = await client.get(shown_photo["photo"])
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")
    assert photo["photo"][-1]["width"] > 1  # its size read from the PNG, as Telegram does

    # The table: a download under its own name, never shown in the page.
    name = document["document"]["file_name"]
    assert re.fullmatch(r"demand-\d{4}-\d\d-\d\d\.csv", name)
    assert shown_document["document"]["name"] == name
    table = await client.get(shown_document["document"]["url"])
    assert table.status_code == 200
    assert table.headers["content-type"].startswith("text/csv")
    assert table.headers["content-disposition"] == f"attachment; filename*=UTF-8''{name}"
    assert table.headers["x-content-type-options"] == "nosniff"
    assert "Dune" in table.text
    assert (await client.get("/files/file-999999")).status_code == 404


async def test_the_bots_three_replies_to_demand_draw_no_429(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    await demand_report(playground, client)
    calls = playground.web_chat.api.sent(chat_id=DANA)
    assert [call.method for call in calls] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert [call.error_code for call in calls] == [None, None, None]


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(path, json=body)


async def test_a_persona_blocks_and_unblocks_the_bot_as_telegram_tells_it(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    api = playground.web_chat.api
    updates = playground.web_chat.updates
    pushed: list[dict[str, Any]] = []
    push = updates.push

    def recorded(update: dict[str, Any]) -> None:  # what Telegram hands the bot, seen
        pushed.append(update)
        push(update)

    updates.push = recorded  # type: ignore[method-assign]

    assert (await post(client, "/api/block", {"persona": ALICE, "blocked": True})).is_success
    [kicked] = pushed
    change = kicked["my_chat_member"]
    assert change["chat"] == {"id": ALICE, "type": "private", "first_name": "Alice"}
    assert change["from"]["id"] == ALICE
    assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == (
        "member",
        "kicked",
    )
    assert change["new_chat_member"]["user"]["is_bot"] is True
    status, body = api.answer("sendMessage", {"chat_id": ALICE, "text": "still there?"})
    assert (status, body["error_code"], body["description"]) == (
        403,
        403,
        "Forbidden: bot was blocked by the user",
    )
    # While blocked, the persona can write nothing (Telegram shows Unblock instead).
    refused = await post(client, "/api/send", {"persona": ALICE, "text": "/books"})
    assert refused.status_code == 400
    assert "blocked" in refused.json()["error"]
    # Blocking again changes nothing; a bad value is refused.
    assert (await post(client, "/api/block", {"persona": ALICE, "blocked": True})).is_success
    assert (
        await post(client, "/api/block", {"persona": ALICE, "blocked": "yes"})
    ).status_code == 400
    assert len(pushed) == 1

    assert (await post(client, "/api/block", {"persona": ALICE, "blocked": False})).is_success
    member = pushed[-1]["my_chat_member"]
    assert (member["old_chat_member"]["status"], member["new_chat_member"]["status"]) == (
        "kicked",
        "member",
    )
    assert api.answer("sendMessage", {"chat_id": ALICE, "text": "welcome back"})[0] == 200


async def test_a_personas_language_is_on_their_updates(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    api = playground.web_chat.api
    bad = await post(client, "/api/language", {"persona": ALICE, "language": "de"})
    assert bad.status_code == 400
    assert (await post(client, "/api/language", {"persona": ALICE, "language": "ru"})).is_success
    await say(client, ALICE, "/books")
    await until(lambda: api.received(ALICE, "Каталог"))
    assert api.messages_in(ALICE)[0]["from"]["language_code"] == "ru"
    state = (await client.get("/api/state")).json()
    languages = {persona["id"]: persona["language"] for persona in state["personas"]}
    assert languages == {ALICE: "ru", 1002: "en", DANA: "en"}


async def test_an_inline_query_is_answered_and_its_pick_sent_via_the_bot(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    api = playground.web_chat.api
    asked = await post(client, "/api/inline", {"persona": ALICE, "query": "dune"})
    query_id = asked.json()["query_id"]
    [answer] = await until(lambda: api.sent("answerInlineQuery"))
    assert answer.error_code is None
    assert str(answer.params["inline_query_id"]) == query_id
    wrong = {"persona": ALICE, "query_id": query_id, "result_id": "999"}
    assert (await post(client, "/api/choose", wrong)).status_code == 400
    not_hers = {"persona": DANA, "query_id": query_id, "result_id": "1"}
    assert (await post(client, "/api/choose", not_hers)).status_code == 400
    chosen = {"persona": ALICE, "query_id": query_id, "result_id": "1"}
    assert (await post(client, "/api/choose", chosen)).is_success
    sent = api.messages_in(ALICE)[0]  # (the bot gets it, as any message in its chat)
    assert sent["from"]["id"] == ALICE
    assert sent["via_bot"]["username"] == "bookstore_test_bot"
    assert "<b>Dune</b>" in sent["text"]
    [[button]] = sent["reply_markup"]["inline_keyboard"]
    assert button["url"].endswith("?start=book_1")
    state = (await client.get("/api/state")).json()
    shown = state["chats"][str(ALICE)][0]
    assert shown["via_bot"] == "bookstore_test_bot"
    assert shown["buttons"][0][0]["url"] == button["url"]


async def test_an_inline_query_is_at_most_256_utf16_units_as_telegram_counts(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    longest = {"persona": ALICE, "query": "😀" * 128}  # 256 UTF-16 units
    assert (await post(client, "/api/inline", longest)).is_success
    too_long = {"persona": ALICE, "query": "😀" * 129}  # 258: more than Telegram sends
    refused = await post(client, "/api/inline", too_long)
    assert refused.status_code == 400
    assert "256" in refused.json()["error"]
