"""`bookstore-bot migrate` from every earlier release keeps every row, and the bot goes on.

For each revision before head: the schema at that revision, a shop's rows written as that
release wrote them (only into the tables and columns it had), an upgrade to head, then
the same rows read back, the catalog searched, a reader's reservations listed and the
pending back-in-stock message delivered. New revisions join the list by themselves; one
that reshapes these rows must say here how they look afterwards.
"""

from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.books.folding import folded, search_vector
from bot.database import create_engine
from bot.postgres import migrate
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, ALICE, BOB, CAROL
from tests.conftest import bot_application, running, temporary_database
from tests.db import outbox_settled
from tests.fake_telegram import FakeBotApi
from tests.test_backup_restore import reader


def earlier_revisions() -> list[str]:
    """Every revision but the newest, oldest first."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    newest_first = [script.revision for script in scripts.walk_revisions()]
    return list(reversed(newest_first))[:-1]


BOOKS = [
    # id, title, author, stock
    (1, "Dune", "Frank Herbert", 0),
    (2, "Emma", "Jane Austen", 2),
    (3, "Война и мир", "Лев Толстой", 0),
]
USERS = [(1, ALICE), (2, BOB), (3, CAROL)]
# id, user, book, status, notified, cancelled
PRE_BOOKINGS = [
    (1, 1, 1, "waiting", False, False),
    (2, 2, 2, "notified", True, False),
    (3, 3, 3, "cancelled", False, True),
    (4, 3, 1, "waiting", False, False),
]
BACK_IN_STOCK = "📚 Good news: <b>Emma</b> by Jane Austen is back in stock!"
# Since 0005 (holds): Alice released a copy of Emma held for her while its offer waited
# in the outbox; since 0011 it is never sent (bot/notifications/ended_holds.py).
RELEASED_HOLD = (
    "INSERT INTO pre_bookings (id, user_id, book_id, status, notified_at, cancelled_at, "
    "hold_expires_at) OVERRIDING SYSTEM VALUE VALUES (5, 1, 2, 'cancelled', now(), now(), "
    "now() + interval '2 days')"
)
ITS_OFFER = (
    "INSERT INTO notifications (id, restock_id, pre_booking_id, chat_id, text, kind) "
    "OVERRIDING SYSTEM VALUE VALUES (2, 1, 5, :chat, 'A copy of Emma is set aside for you', "
    "'hold_offer')"
)
# Columns as the first release that has each table wrote them (later ones add their own).
KEPT = {
    "users": "id, telegram_id, chat_id, username, first_name, created_at",
    "books": "id, title, author, stock_quantity, created_at",
    "pre_bookings": "id, user_id, book_id, status, created_at, notified_at, cancelled_at",
    "restocks": "id, book_id, old_stock, new_stock, admin_telegram_id, created_at",
    "notifications": "id, restock_id, pre_booking_id, chat_id, text, status, attempts",
}

# Since 0007 a restock's message is kept once, on the restock (a row's own text is NULL).
MESSAGES_KEPT_ON_THE_RESTOCK = (
    "SELECT n.id, n.restock_id, n.pre_booking_id, n.chat_id, coalesce(n.text, r.message), "
    "n.status, n.attempts FROM notifications n LEFT JOIN restocks r ON r.id = n.restock_id "
    "ORDER BY n.id"
)


async def columns(connection: AsyncConnection, table: str) -> set[str]:
    def read(sync_connection: Connection) -> set[str]:
        inspector = inspect(sync_connection)
        if not inspector.has_table(table):
            return set()
        return {column["name"] for column in inspector.get_columns(table)}

    return await connection.run_sync(read)


async def write_a_shop(connection: AsyncConnection) -> None:
    """The rows a shop has after a while, in the columns this revision has."""
    book_columns = await columns(connection, "books")
    for user_id, person in USERS:
        await connection.execute(
            text(
                "INSERT INTO users (id, telegram_id, chat_id, username, first_name) "
                "OVERRIDING SYSTEM VALUE VALUES (:id, :telegram, :telegram, :username, :name)"
            ),
            {"id": user_id, "telegram": person.id, "username": person.username,
             "name": person.first_name},
        )  # fmt: skip
    for book_id, title, author, stock in BOOKS:
        values = {"id": book_id, "title": title, "author": author, "stock_quantity": stock}
        if "title_key" in book_columns:
            values |= {
                "title_key": folded(title),
                "author_key": folded(author),
                "search_vector": search_vector(title, author),
            }
        names = ", ".join(values)
        placeholders = ", ".join(
            f"CAST(:{name} AS tsvector)" if name == "search_vector" else f":{name}"
            for name in values
        )
        await connection.execute(
            text(
                f"INSERT INTO books ({names}) OVERRIDING SYSTEM VALUE VALUES ({placeholders})"  # noqa: S608
            ),
            values,
        )
    for booking_id, user_id, book_id, status, notified, cancelled in PRE_BOOKINGS:
        await connection.execute(
            text(
                "INSERT INTO pre_bookings (id, user_id, book_id, status, notified_at, "
                "cancelled_at) OVERRIDING SYSTEM VALUE VALUES (:id, :user, :book, "
                "CAST(:status AS pre_booking_status), "
                "CASE WHEN :notified THEN now() END, CASE WHEN :cancelled THEN now() END)"
            ),
            {"id": booking_id, "user": user_id, "book": book_id, "status": status,
             "notified": notified, "cancelled": cancelled},
        )  # fmt: skip
    if await columns(connection, "notifications"):
        # Emma went 0 → 2 and Bob's message waits in the outbox.
        await connection.execute(
            text(
                "INSERT INTO restocks (id, book_id, old_stock, new_stock, admin_telegram_id) "
                "OVERRIDING SYSTEM VALUE VALUES (1, 2, 0, 2, :admin)"
            ),
            {"admin": ADMIN.id},
        )
        await connection.execute(
            text(
                "INSERT INTO notifications (id, restock_id, pre_booking_id, chat_id, text) "
                "OVERRIDING SYSTEM VALUE VALUES (1, 1, 2, :chat, :text)"
            ),
            {"chat": BOB.id, "text": BACK_IN_STOCK},
        )
        if "kind" in await columns(connection, "notifications"):
            await connection.execute(text(RELEASED_HOLD))
            await connection.execute(text(ITS_OFFER), {"chat": ALICE.id})
    for table in ("users", "books", "pre_bookings", "restocks", "notifications"):
        if await columns(connection, table):
            # Rows inserted with their ids: later ones must not collide with them.
            await connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
            )


async def read_back(connection: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    rows = {}
    for table, kept in KEPT.items():
        if await columns(connection, table):
            query = f"SELECT {kept} FROM {table} ORDER BY id"  # noqa: S608
            if table == "notifications" and "message" in await columns(connection, "restocks"):
                query = MESSAGES_KEPT_ON_THE_RESTOCK
            result = await connection.execute(text(query))
            rows[table] = [tuple(row) for row in result]
    return rows


@pytest.mark.parametrize("revision", earlier_revisions())
async def test_upgrading_from_an_earlier_release_keeps_everything(
    server_url: str, revision: str
) -> None:
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection, revision)
                await write_a_shop(connection)
                before = await read_back(connection)
                before_columns = await columns(connection, "notifications")
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                after = await read_back(connection)
            assert {table: after[table] for table in before} == before

            services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id})))
            assert [book.id for book in (await services.books.list_books(1, "война")).books] == [3]
            assert (await services.books.list_books()).total == len(BOOKS)
            waiting = await services.reservations.list_reservations(reader(CAROL))
            assert [view.id for view in waiting.reservations] == [4, 3]
            new_book = await services.books.add_book(ADMIN.id, "Ulysses", "James Joyce", 1)
            assert new_book.id == len(BOOKS) + 1

            if "notifications" in before:
                api = FakeBotApi()
                async with running(bot_application(services, api)):
                    await outbox_settled(engine)
                assert api.texts_to(BOB.id) == [BACK_IN_STOCK]
                assert api.texts_to(ALICE.id) == []
                statuses = "SELECT id, status::text FROM notifications ORDER BY id"
                async with engine.connect() as connection:
                    assert [tuple(row) for row in await connection.execute(text(statuses))] == [
                        (1, "sent"),
                        *([(2, "obsolete")] if "kind" in before_columns else []),
                    ]
        finally:
            await engine.dispose()
