"""Review of books by ISBN (issue 22, item 1): what the metadata service says is not
trusted (NUL and lone surrogates in titles, JSON nested past Python's recursion limit) and
BOOK_METADATA_URL's credentials never reach the log."""

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.metadata import MetadataSource
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, Chat
from tests.conftest import bot_application, running
from tests.db import rows
from tests.fake_book_metadata import FakeBookMetadata, running_fake_metadata
from tests.fake_telegram import FakeBotApi

NUL_TITLE = "9780441013593"
SURROGATE_TITLE = "9780306406157"
MODES: dict[str, tuple[str, list[str]] | str] = {
    NUL_TITLE: ("Du\x00ne", ["Frank\x00 Herbert"]),
    SURROGATE_TITLE: ("Good \ud800Omens", ["Terry Pratchett"]),
}


@pytest.fixture
async def metadata() -> AsyncIterator[FakeBookMetadata]:
    async with running_fake_metadata(MODES) as fake:
        yield fake


@pytest.fixture
async def isbn_chat(
    services: Services, engine: AsyncEngine, api: FakeBotApi, metadata: FakeBookMetadata
) -> AsyncIterator[Chat]:
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE book_metadata"))
    shop = Shop(frozenset({ADMIN.id}), line_updates=False, book_metadata_url=metadata.url)
    async with running(
        bot_application(build_services(engine, TelegramMessages(), shop), api)
    ) as app:
        yield Chat(app, api)


async def test_control_characters_and_lone_surrogates_from_the_service_are_dropped(
    isbn_chat: Chat, engine: AsyncEngine
) -> None:
    """PostgreSQL refuses NUL in text and asyncpg cannot encode a lone surrogate: the
    cache write used to fail and the command crashed."""
    dune = await isbn_chat.send_one(ADMIN, f"/addbook {NUL_TITLE}")
    assert dune.text.startswith("Added #"), dune.text
    omens = await isbn_chat.send_one(ADMIN, f"/addbook {SURROGATE_TITLE}")
    assert omens.text.startswith("Added #"), omens.text
    titles = await rows(engine, "SELECT title, author FROM books ORDER BY id")
    assert titles == [("Du ne", "Frank Herbert"), ("Good Omens", "Terry Pratchett")]


@pytest.fixture
async def service_url() -> AsyncIterator[str]:
    """A service that answers JSON nested deeper than Python's recursion limit, and that
    redirects /loop to itself for ever."""

    async def deep(request: web.Request) -> web.Response:
        return web.Response(text="[" * 100_000 + "]" * 100_000, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/books", deep)
    app.router.add_get("/loop/api/books", _redirect)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.path)


async def test_json_nested_past_the_recursion_limit_is_a_failed_lookup(
    service_url: str,
) -> None:
    assert await MetadataSource(f"http://{service_url}", 2.0).fetch(NUL_TITLE) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://staff:s3cret-pass@{host}/loop",  # redirected for ever
        "http://staff:s3cret-pass@[{host}",  # not a URL
    ],
)
async def test_the_services_credentials_never_reach_the_log(
    service_url: str, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = MetadataSource(url.format(host=service_url), 2.0)
    assert await source.fetch(NUL_TITLE) is None
    logged = caplog.text
    assert "book metadata" in logged
    assert "s3cret-pass" not in logged
    assert "czNjcmV0LXBhc3M" not in logged  # base64 of it, in an Authorization header
