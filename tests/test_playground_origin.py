"""The playground answers only its own page: a request naming another host (DNS
rebinding) or sent by another site's page is refused, and its JSON comes only as JSON.

Over real HTTP to the running playground (uvicorn), with the headers a browser sends.
"""

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from bot.playground.files_and_inline import UploadedFile
from bot.playground.runner import PLAYGROUND_TOKEN, Playground
from bot.playground.same_origin import ServedAddress
from tests.playground import playground_on

DANA = 9001
RESTOCK = {"persona": DANA, "text": "/restock 1 7"}


@pytest.fixture
async def playground(server_url: str) -> AsyncIterator[Playground]:
    async with playground_on(server_url) as running:
        yield running


@pytest.fixture
async def client(playground: Playground) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=playground.url, timeout=10) as http:
        yield http


def port_of(playground: Playground) -> int:
    port = urlsplit(playground.url).port
    assert port is not None
    return port


async def test_a_host_that_is_not_its_address_is_refused(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    port = port_of(playground)
    # DNS rebinding: the attacker's name now points at 127.0.0.1, and the browser says so.
    for host in (f"rebound.example:{port}", "rebound.example", f"localhost:{port + 1}"):
        refused = await client.get("/api/state", headers={"Host": host})
        assert refused.status_code == 403, host
        assert "not this playground's address" in refused.text
        assert "personas" not in refused.text
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert (await client.get("/api/state", headers={"Host": host})).status_code == 200
    assert (await client.get("/")).status_code == 200


async def test_a_request_from_another_sites_page_is_refused(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    port = port_of(playground)
    for origin in ("http://evil.example", f"http://127.0.0.1:{port + 1}", "null"):
        headers = {"Origin": origin}
        sent = await client.post("/api/send", json=RESTOCK, headers=headers)
        assert sent.status_code == 403, origin
        assert "another site's page" in sent.text
        assert (await client.post("/api/reset", json={}, headers=headers)).status_code == 403
        called = await client.post(f"/bot{PLAYGROUND_TOKEN}/getMe", headers=headers)
        assert called.status_code == 403
    assert playground.web_chat.api.messages_in(DANA) == []
    # The page's own requests carry its own origin.
    own = {"Origin": f"http://127.0.0.1:{port}"}
    assert (await client.post("/api/send", json=RESTOCK, headers=own)).status_code == 200
    assert [m["text"] for m in playground.web_chat.api.messages_in(DANA)][:1] == ["/restock 1 7"]


async def test_json_comes_only_as_json(playground: Playground, client: httpx.AsyncClient) -> None:
    # What a cross-site form (enctype text/plain) or a no-cors fetch can send.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        body = b'{"persona": 9001, "text": "/restock 1 7"}'
        sent = await client.post("/api/send", content=body, headers=headers)
        assert sent.status_code == 415, content_type
        assert "application/json" in sent.text
        reset = await client.post("/api/reset", content=b"{}", headers=headers)
        assert reset.status_code == 415, content_type
    assert playground.web_chat.api.messages_in(DANA) == []
    sent = await client.post(
        "/api/send", content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert sent.status_code == 200


def test_the_addresses_it_answers_to_follow_where_it_listens() -> None:
    loopback = ServedAddress("127.0.0.1", 8080)
    assert loopback.allows("localhost", 8080)
    assert loopback.allows("::1", 8080)
    assert not loopback.allows("192.168.1.5", 8080)
    assert not loopback.allows("localhost", 80)
    named = ServedAddress("shop-laptop.lan", 8080)  # --host shop-laptop.lan --allow-remote
    assert named.allows("shop-laptop.lan", 8080)
    assert not named.allows("rebound.example", 8080)
    # On every interface: any address in digits (a rebound name is always a name).
    everywhere = ServedAddress("0.0.0.0", 8080)  # noqa: S104
    assert everywhere.allows("192.168.1.5", 8080)
    assert everywhere.allows("fe80::1", 8080)
    assert not everywhere.allows("rebound.example", 8080)
    assert not everywhere.allows(None, 8080)


async def test_the_files_and_the_newer_actions_are_guarded_too(
    playground: Playground, client: httpx.AsyncClient
) -> None:
    port = port_of(playground)
    picture = UploadedFile("chart.png", b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png")
    status, sent = playground.web_chat.api.answer("sendPhoto", {"chat_id": DANA, "photo": picture})
    assert status == 200, sent
    path = f"/files/{sent['result']['photo'][-1]['file_id']}"
    rebound = await client.get(path, headers={"Host": f"rebound.example:{port}"})
    assert (rebound.status_code, rebound.content.startswith(b"\x89PNG")) == (403, False)
    assert (await client.get(path)).status_code == 200
    evil = {"Origin": "http://evil.example"}
    for action, body in (
        ("/api/block", {"persona": DANA, "blocked": True}),
        ("/api/language", {"persona": DANA, "language": "ru"}),
        ("/api/inline", {"persona": DANA, "query": "dune"}),
        ("/api/choose", {"persona": DANA, "query_id": "1", "result_id": "1"}),
    ):
        assert (await client.post(action, json=body, headers=evil)).status_code == 403, action
    assert DANA not in playground.web_chat.api.blocked
