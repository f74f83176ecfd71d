"""Review of books by ISBN (issue 22, item 1): what the metadata service says is not
trusted (NUL and lone surrogates in titles, JSON nested past Python's recursion limit),
BOOK_METADATA_URL's credentials never reach the log, and an ISMN (979-0) or an ISBN typed
with Unicode dashes or full-width digits is understood as staff mean it."""

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.errors import IsbnInvalid
from bot.books.isbn import isbn_in, looks_like_isbn, normalised
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


@pytest.mark.parametrize("typed", ["979-0-2600-0043-8", "9790260000438"])
def test_an_ismn_is_no_isbn(typed: str) -> None:
    """979-0 is the ISMN's prefix (printed music), never given to a book."""
    with pytest.raises(IsbnInvalid):
        normalised(typed)
    assert isbn_in(typed) is None


@pytest.mark.parametrize(
    "typed",
    [
        "978\u20100\u2010306\u201040615\u20107",  # hyphen, as web pages print it
        "978\u20130306406157",  # en dash
        "\uff19\uff17\uff18\uff10\uff13\uff10\uff16\uff14\uff10\uff16\uff11\uff15\uff17",
        "\u00a0978 0306406157",
    ],
)
def test_an_isbn_with_unicode_dashes_or_full_width_digits_is_an_isbn(typed: str) -> None:
    assert looks_like_isbn(typed)
    assert normalised(typed) == "9780306406157"


async def test_addbook_and_book_take_an_isbn_pasted_with_unicode_dashes(
    isbn_chat: Chat, engine: AsyncEngine
) -> None:
    reply = await isbn_chat.send_one(ADMIN, "/addbook 978\u20100\u2010441\u201001359\u20103")
    assert reply.text.startswith("Added #1"), reply.text
    card = await isbn_chat.send_one(ADMIN, "/book 978\u20100\u2010441\u201001359\u20103")
    assert card.text.startswith("#1 "), card.text
    assert await rows(engine, "SELECT isbn FROM books") == [(NUL_TITLE,)]
