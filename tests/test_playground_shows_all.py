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
