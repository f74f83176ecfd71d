"""The installed bot under hold_in_line: holds that fall due while no bot runs (the last
one killed with SIGKILL) are expired by the next one, once each."""

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.database import create_engine
from bot.postgres import migrate
from bot.services import build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE
from tests.conftest import HOLD_SHOP, temporary_database
from tests.db import add_books, outbox_settled, rows
from tests.fake_bot_api_server import running_fake_bot_api
from tests.test_command_line import plain_url
from tests.test_polling_end_to_end import kill_bot, reply_to, start_bot, stop_bot

BOOKS = 6
FIRST_IN_LINE = range(8000, 8000 + BOOKS)  # one held copy each
SECOND_IN_LINE = range(8100, 8100 + BOOKS)  # waiting behind them
EXPIRED = "The copy of"
OFFER = "set aside for you"


async def make_due(
    engine: AsyncEngine, book_ids: range, after: timedelta = timedelta(seconds=-1)
) -> None:
    """The books' holds end `after` from now."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET hold_expires_at = now() + :after "
                "WHERE status = 'on_hold' AND book_id = ANY(:ids)"
            ),
            {"ids": list(book_ids), "after": after},
        )


async def test_holds_due_while_the_bot_was_killed_expire_once_after_restart(
    server_url: str, tmp_path: Path
) -> None:
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection)
        services = build_services(engine, TelegramMessages(), HOLD_SHOP)
        await add_books(services, *[(f"Book {n}", "Someone", 0) for n in range(BOOKS)])
        for book_id in range(1, BOOKS + 1):
            for line in (FIRST_IN_LINE, SECOND_IN_LINE):
                reader_id = line[book_id - 1]
                await services.reservations.reserve(Reader(reader_id, reader_id), book_id)
            await services.restocks.restock(ADMIN.id, book_id, 1)

        def received(ids: range, containing: str) -> list[int]:
            return [telegram.api.received(i, containing) for i in ids]

        settings = {
            "DATABASE_URL": plain_url(url),
            "RESTOCK_POLICY": "hold_in_line",
            "TIMEZONE": "Europe/Berlin",
            # Offers the killed bot had claimed but not sent come back after this.
            "NOTIFICATION_LEASE_SECONDS": "3",
            # Only the holds' own messages (place updates: tests/test_place_updates.py).
            "LINE_UPDATES": "off",
        }
        try:
            with running_fake_bot_api() as telegram:
                first = start_bot(tmp_path, telegram, **settings)
                telegram.send_text(ALICE, "/start")
                await asyncio.to_thread(telegram.wait_for, reply_to(ALICE.id, "Hello"), 30)
                # Live: the first half falls due and is expired by the running bot.
                await make_due(engine, range(1, 4))
                await asyncio.to_thread(
                    telegram.wait_for, lambda _: sum(received(FIRST_IN_LINE, EXPIRED)) == 3, 30
                )
                # Nothing in flight (the dispatcher's at-least-once is another test's);
                # the other half falls due two seconds after the bot is killed.
                await outbox_settled(engine)
                await make_due(engine, range(4, BOOKS + 1), timedelta(seconds=2))
                await kill_bot(first)
                await asyncio.sleep(2.5)
                assert await rows(
                    engine,
                    "SELECT count(*) FROM pre_bookings WHERE status = 'on_hold' "
                    "AND hold_expires_at < now()",
                ) == [(BOOKS - 3,)]

                second = start_bot(tmp_path, telegram, **settings)
                try:
                    await asyncio.to_thread(
                        telegram.wait_for,
                        lambda _: (
                            all(received(SECOND_IN_LINE, OFFER))
                            and all(received(FIRST_IN_LINE, EXPIRED))
                        ),
                        60,
                    )
                    await asyncio.sleep(1.5)  # a few more passes: nothing repeats
                finally:
                    output = await stop_bot(second)
            assert received(FIRST_IN_LINE, EXPIRED) == [1] * BOOKS
            assert received(SECOND_IN_LINE, OFFER) == [1] * BOOKS
            assert await rows(
                engine, "SELECT status::text, count(*) FROM pre_bookings GROUP BY 1 ORDER BY 1"
            ) == [("expired", BOOKS), ("on_hold", BOOKS)]
            assert await rows(
                engine, "SELECT kind, count(*) FROM notifications GROUP BY 1 ORDER BY 1"
            ) == [("hold_expired", BOOKS), ("hold_offer", 2 * BOOKS)]
            assert second.returncode == 0, output
        finally:
            await engine.dispose()
