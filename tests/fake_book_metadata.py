"""A small Open Library-compatible metadata service for the tests, on a free local port:
GET /api/books?bibkeys=ISBN:<isbn>&format=json&jscmd=data answers as each ISBN's mode
says (found, not found, 404, 500, malformed JSON, or slower than any timeout)."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

# Far longer than the tests' timeout, far shorter than a test's patience.
SLOW_SECONDS = 3.0


@dataclass
class FakeBookMetadata:
    """Each ISBN's mode: a (title, authors) pair, or "empty", "404", "500", "malformed",
    "slow"; an ISBN not listed is not found (an empty answer, as Open Library gives)."""

    modes: dict[str, tuple[str, list[str]] | str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    async def answer(self, request: web.Request) -> web.Response:
        key = request.query.get("bibkeys", "")
        self.requests.append(key)
        mode = self.modes.get(key.removeprefix("ISBN:"), "empty")
        if mode == "slow":
            await asyncio.sleep(SLOW_SECONDS)
            return web.json_response({})
        if mode == "404":
            return web.Response(status=404, text="Not Found")
        if mode == "500":
            return web.Response(status=500, text="Internal Server Error")
        if mode == "malformed":
            return web.Response(text='{"ISBN:', content_type="application/json")
        if mode == "empty":
            return web.json_response({})
        assert isinstance(mode, tuple)
        title, authors = mode
        edition = {
            "url": "https://openlibrary.org/books/OL1M",
            "key": "/books/OL1M",
            "title": title,
            "authors": [
                {"url": "https://openlibrary.org/authors/OL1A", "name": name} for name in authors
            ],
            "number_of_pages": 412,
        }
        return web.Response(text=json.dumps({key: edition}), content_type="application/json")


@asynccontextmanager
async def running_fake_metadata(
    modes: dict[str, tuple[str, list[str]] | str],
) -> AsyncIterator[FakeBookMetadata]:
    fake = FakeBookMetadata(modes)
    app = web.Application()
    app.router.add_get("/api/books", fake.answer)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
