"""What the special orders' tests share: a bot whose metadata service is a small fake."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, tzinfo
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, Chat
from tests.conftest import bot_application, running
from tests.db import rows, snapshot
from tests.fake_book_metadata import FakeBookMetadata, running_fake_metadata
from tests.fake_telegram import FakeBotApi

DUNE = "9780441013593"  # ISBN-10 0-441-01359-7
EMMA = "9780141439587"
BROKEN = "9780143039990"  # the fake answers 500
MODES: dict[str, tuple[str, list[str]] | str] = {
    DUNE: ("Dune", ["Frank Herbert"]),
    EMMA: ("Emma", ["Jane Austen"]),
    BROKEN: "500",
}
STAFF_ONLY = "Sorry, only the bookstore's staff can do that."


@asynccontextmanager
async def special_chat(
    engine: AsyncEngine,
    api: FakeBotApi,
    staff: frozenset[int] = frozenset({ADMIN.id}),
    zone: tzinfo = UTC,
) -> AsyncIterator[tuple[Chat, Services, FakeBookMetadata]]:
    """The bot on empty tables (the services fixture emptied them), ADMIN as staff (or
    those given), in the shop's time zone given, and the fake metadata service it asks."""
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE book_metadata"))
    async with running_fake_metadata(MODES) as metadata:
        shop = Shop(
            staff,
            zone=zone,
            line_updates=False,
            book_metadata_url=metadata.url,
            book_metadata_timeout=2.0,
        )
        services = build_services(engine, TelegramMessages(), shop)
        async with running(bot_application(services, api)) as app:
            yield Chat(app, api), services, metadata


async def everything(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """snapshot's tables and the requests', to compare before and after a refusal."""
    tables = await snapshot(engine)
    for table in ("book_requests", "book_request_readers"):
        tables[table] = await rows(engine, f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
    return tables
