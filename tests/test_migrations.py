"""The schema comes from the hand-written migration, and it matches the models."""

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.books.errors import DuplicateBook
from bot.database import create_engine
from bot.models import Base
from bot.postgres import migrate
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN
from tests.conftest import temporary_database
from tests.test_command_line import bookstore_bot, plain_url

TABLES = {
    "alembic_version",
    "book_metadata",
    "book_request_readers",
    "book_requests",
    "books",
    "message_slots",
    "notifications",
    "pre_bookings",
    "restocks",
    "staff_digests",
    "users",
    "webhook_updates",
}
ENUMS = ["notification_status", "pre_booking_status"]


async def schema(connection: AsyncConnection) -> tuple[set[str], list[str]]:
    def read(sync_connection: Connection) -> tuple[set[str], list[str]]:
        inspector = inspect(sync_connection)
        enums = [enum["name"] for enum in inspector.get_enums()]  # type: ignore[attr-defined]
        return set(inspector.get_table_names()), enums

    return await connection.run_sync(read)


async def downgrade_to_base(connection: AsyncConnection) -> None:
    def run(sync_connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = sync_connection
        command.downgrade(config, "base")

    await connection.run_sync(run)


async def test_upgrade_downgrade_upgrade(server_url: str) -> None:
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                assert await schema(connection) == (TABLES, ENUMS)
            async with engine.begin() as connection:
                await downgrade_to_base(connection)
                assert await schema(connection) == ({"alembic_version"}, [])
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                assert await schema(connection) == (TABLES, ENUMS)
        finally:
            await engine.dispose()


async def test_models_match_the_migration(engine: AsyncEngine) -> None:
    def differences(sync_connection: Connection) -> list[object]:
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


SCHEMA_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, character_maximum_length,
               is_nullable, column_default, is_identity
        FROM information_schema.columns WHERE table_schema = 'public'
          AND table_name <> 'alembic_version'
        ORDER BY table_name, column_name""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
          AND conrelid::regclass::text <> 'alembic_version'
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version'
        ORDER BY 1, 2""",
    "enums": """
        SELECT t.typname, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
        ORDER BY t.typname, e.enumsortorder""",
}


async def described(engine: AsyncEngine) -> dict[str, list[tuple[object, ...]]]:
    async with engine.connect() as connection:
        return {
            name: [tuple(row) for row in await connection.execute(text(query))]
            for name, query in SCHEMA_QUERIES.items()
        }


async def test_migration_builds_exactly_the_models_schema(
    server_url: str, engine: AsyncEngine
) -> None:
    """Autogenerate skips check constraints and index predicates; compare the catalogs."""
    async with temporary_database(server_url) as url:
        from_models = create_engine(url)
        try:
            async with from_models.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            expected = await described(from_models)
        finally:
            await from_models.dispose()
    migrated = await described(engine)
    for part in SCHEMA_QUERIES:
        assert migrated[part] == expected[part], part
    assert ("books", "uq_books_title_key_author_key") in [row[:2] for row in migrated["indexes"]]


def before_reachability() -> str:
    """The revision under the reachability one, found by its file name (its number may change)."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    [script] = [s for s in scripts.walk_revisions() if s.path.endswith("_reachability.py")]
    assert isinstance(script.down_revision, str)
    return script.down_revision


async def downgrade_to(connection: AsyncConnection, revision: str) -> None:
    def run(sync_connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = sync_connection
        command.downgrade(config, revision)

    await connection.run_sync(run)


REFUSALS_BEFORE_REACHABILITY = {
    "Forbidden: bot was blocked by the user": True,
    "Forbidden: user is deactivated": True,
    "Chat not found": True,
    "Message is too long": False,
    "Timed out": False,
}


async def test_reachability_revision_adds_and_removes_its_parts(server_url: str) -> None:
    """The reachability revision: users.chat_id's index, notifications.reader_unreachable."""
    parts = """
        SELECT indexname FROM pg_indexes WHERE indexname = 'ix_users_chat_id'
        UNION ALL SELECT column_name FROM information_schema.columns
        WHERE table_name = 'notifications' AND column_name = 'reader_unreachable'"""
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                assert set(await connection.scalars(text(parts))) == {
                    "ix_users_chat_id",
                    "reader_unreachable",
                }
            async with engine.begin() as connection:
                await downgrade_to(connection, before_reachability())
                assert list(await connection.scalars(text(parts))) == []
                # Refused before the revision: flagged by it, so sent if the reader comes back.
                for n, error in enumerate(REFUSALS_BEFORE_REACHABILITY, start=1):
                    await connection.execute(
                        text(
                            "INSERT INTO notifications (restock_id, pre_booking_id, chat_id, "
                            "text, status, last_error) VALUES (1, :n, 1, 'x', 'failed', :error)"
                        ),
                        {"n": n, "error": error},
                    )
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                assert len(list(await connection.scalars(text(parts)))) == 2
                flags = await connection.execute(
                    text("SELECT last_error, reader_unreachable FROM notifications ORDER BY id")
                )
                assert {error: flag for error, flag in flags} == REFUSALS_BEFORE_REACHABILITY
        finally:
            await engine.dispose()


OLD_BOOKS = """INSERT INTO books (title, author) VALUES
    ('CAFÉ', 'Ann Lee'), ('café', 'ANN LEE'), ('ВОЙНА И МИР', 'Толстой'),
    ('война и мир', 'ТОЛСТОЙ'), ('Straße', 'Kai'), ('STRASSE', 'KAI')"""


async def test_upgrade_keeps_books_that_only_the_new_folding_finds_the_same(
    server_url: str,
) -> None:
    """On a C-locale server lower() let 'CAFÉ' and 'café' both in. The upgrade keeps
    both (readers wait for each), the lower id stays the one duplicates are refused
    against, and every book gets its keys, however many batches they take."""
    async with temporary_database(server_url, locale="C") as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection, "0002")
                await connection.execute(text(OLD_BOOKS))
                await connection.execute(
                    text(
                        "INSERT INTO books (title, author) "
                        "SELECT 'Book ' || n, 'Someone' FROM generate_series(1, 2500) AS n"
                    )
                )
                await connection.execute(
                    text("INSERT INTO users (telegram_id, chat_id) VALUES (7, 7)")
                )
                await connection.execute(
                    text("INSERT INTO pre_bookings (user_id, book_id) VALUES (1, 2), (1, 4)")
                )
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
            books = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id}))).books
            assert [book.id for book in (await books.list_books(1, "cafe")).books] == [1, 2]
            assert [book.id for book in (await books.list_books(1, "война")).books] == [3, 4]
            assert [book.id for book in (await books.list_books(1, "strasse")).books] == [5, 6]
            for title, author, canonical in [
                ("Café", "ann lee", 1),
                ("Война и мир", "толстой", 3),
            ]:
                with pytest.raises(DuplicateBook) as refused:
                    await books.add_book(ADMIN.id, title, author, 1)
                assert refused.value.book_id == canonical
            assert (await books.list_books(1, "book 2500")).total == 1
            async with engine.connect() as connection:
                assert await connection.scalar(text("SELECT count(*) FROM pre_bookings")) == 2
                unfolded = "SELECT count(*) FROM books WHERE title_key NOT LIKE 'book %'"
                assert await connection.scalar(text(unfolded)) == 6
            async with engine.begin() as connection:
                await downgrade_to(connection, "0002")
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
        finally:
            await engine.dispose()


OLD_OUTBOX = """
    INSERT INTO restocks (book_id, old_stock, new_stock, admin_telegram_id)
        VALUES (1, 0, 5, 1), (1, 5, 0, 1), (1, 0, 2, 1);
    INSERT INTO notifications (restock_id, pre_booking_id, chat_id, text, status) VALUES
        (1, 1, 11, 'Dune is back', 'pending'), (1, 2, 12, 'Dune is back', 'sent'),
        (1, 3, 13, 'Dune is back', 'failed'), (3, 4, 11, 'Dune again', 'pending')"""
TEXTS = """
    SELECT n.pre_booking_id, n.text, r.message FROM notifications n
    JOIN restocks r ON r.id = n.restock_id ORDER BY n.pre_booking_id"""


async def test_flood_budget_revision_keeps_each_restock_message_once(server_url: str) -> None:
    """Rows queued before the revision lose their copy of the text to their restock, and
    a claim still sends each its own; downgrading puts the copies back."""
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection, "0002")
                await connection.execute(
                    text("INSERT INTO books (title, author) VALUES ('Dune', 'Herbert')")
                )
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection, "0004")
                for statement in OLD_OUTBOX.split(";"):
                    await connection.execute(text(statement))
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                assert [tuple(row) for row in await connection.execute(text(TEXTS))] == [
                    (1, None, "Dune is back"),
                    (2, None, "Dune is back"),
                    (3, None, "Dune is back"),
                    (4, None, "Dune again"),
                ]
            outbox = build_services(engine, TelegramMessages()).outbox
            claimed = await outbox.claim_due(10, timedelta(seconds=30))
            assert [(d.chat_id, d.text) for d in claimed] == [
                (11, "Dune is back"),
                (11, "Dune again"),
            ]
            async with engine.begin() as connection:
                await downgrade_to(connection, "0004")
                copies = "SELECT pre_booking_id, text FROM notifications ORDER BY pre_booking_id"
                assert [tuple(row) for row in await connection.execute(text(copies))] == [
                    (1, "Dune is back"),
                    (2, "Dune is back"),
                    (3, "Dune is back"),
                    (4, "Dune again"),
                ]
        finally:
            await engine.dispose()


async def test_obsolete_messages_survive_a_downgrade_as_failed(server_url: str) -> None:
    """0011's status has no place before it: its messages become failed, saying why."""
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
            async with engine.begin() as connection:  # a new value is usable once committed
                await connection.execute(
                    text(
                        "INSERT INTO notifications (pre_booking_id, chat_id, text, kind, status) "
                        "VALUES (1, 1, 'x', 'hold_offer', 'obsolete'), "
                        "(2, 2, 'y', 'hold_offer', 'pending')"
                    )
                )
            async with engine.begin() as connection:
                await downgrade_to(connection, "0010")
                statuses = "SELECT status::text, last_error FROM notifications ORDER BY id"
                assert [tuple(row) for row in await connection.execute(text(statuses))] == [
                    ("failed", "obsolete: the hold had ended"),
                    ("pending", None),
                ]
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
        finally:
            await engine.dispose()


async def test_paused_and_lapsed_survive_a_downgrade_as_waiting_and_cancelled(
    server_url: str,
) -> None:
    """0012's statuses have no place before it: a paused reader waits again (their place
    kept), a lapsed reservation is history as a cancelled one; its own messages go."""
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                for statement in (
                    "INSERT INTO users (id, telegram_id, chat_id) OVERRIDING SYSTEM VALUE "
                    "VALUES (1, 11, 11), (2, 22, 22)",
                    "INSERT INTO books (id, title, author, title_key, author_key, search_vector) "
                    "OVERRIDING SYSTEM VALUE VALUES (1, 'Dune', 'Herbert', 'dune', 'herbert', '')",
                    "INSERT INTO pre_bookings (id, user_id, book_id, status, resume_on) "
                    "OVERRIDING SYSTEM VALUE VALUES (1, 1, 1, 'paused', '2027-01-05'), "
                    "(2, 2, 1, 'lapsed', NULL), (3, 2, 1, 'waiting', NULL)",
                    "INSERT INTO notifications (pre_booking_id, chat_id, text, kind) "
                    "VALUES (2, 22, 'lapsed', 'lapsed'), (3, 22, '1st', 'place_update'), "
                    "(1, 11, 'back', 'back_in_stock')",
                ):
                    await connection.execute(text(statement))
            async with engine.begin() as connection:
                await downgrade_to(connection, "0011")
                statuses = "SELECT id, status::text FROM pre_bookings ORDER BY id"
                assert [tuple(row) for row in await connection.execute(text(statuses))] == [
                    (1, "waiting"),
                    (2, "cancelled"),
                    (3, "waiting"),
                ]
                kinds = "SELECT kind FROM notifications"
                assert list(await connection.scalars(text(kinds))) == ["back_in_stock"]
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
        finally:
            await engine.dispose()


async def test_two_processes_migrating_an_empty_database_at_once_both_succeed(
    server_url: str, tmp_path: Path
) -> None:
    """Replicas started together each migrate at start (`run` does, and `migrate`): the
    later ones wait for the first (a lock the migration's own transaction holds, so it
    holds behind PgBouncer's transaction mode too) and then find nothing to do."""
    async with temporary_database(server_url) as url:
        results = await asyncio.gather(
            *(bookstore_bot(tmp_path, "migrate", DATABASE_URL=plain_url(url)) for _ in range(3))
        )
        assert [(result.returncode, result.stderr) for result in results] == [(0, "")] * 3
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        finally:
            await engine.dispose()
        head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        assert version == head


async def test_request_and_digest_messages_go_in_a_downgrade_the_others_stay(
    server_url: str,
) -> None:
    """0014's messages have no place before it: a decline (no reservation), an ordered
    request's message and a digest go with the requests' tables; a back-in-stock message
    stays. Upgrading again builds 0014's tables afresh."""
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                for statement in (
                    "INSERT INTO users (id, telegram_id, chat_id) OVERRIDING SYSTEM VALUE "
                    "VALUES (1, 11, 11), (2, 22, 22)",
                    "INSERT INTO books (id, title, author, title_key, author_key, search_vector) "
                    "OVERRIDING SYSTEM VALUE VALUES (1, 'Dune', 'Herbert', 'dune', 'herbert', '')",
                    "INSERT INTO pre_bookings (id, user_id, book_id) OVERRIDING SYSTEM VALUE "
                    "VALUES (1, 1, 1), (2, 2, 1)",
                    "INSERT INTO book_requests (id, title, author, match_key, status, book_id, "
                    "decline_reason) OVERRIDING SYSTEM VALUE VALUES "
                    "(1, 'Dune', 'Herbert', 'words:dune herbert', 'ordered', 1, NULL), "
                    "(2, 'Emma', NULL, 'words:emma', 'declined', NULL, 'out of print'), "
                    "(3, 'Solaris', 'Lem', 'words:solaris lem', 'open', NULL, NULL)",
                    "INSERT INTO book_request_readers (id, request_id, user_id, pre_booking_id) "
                    "OVERRIDING SYSTEM VALUE VALUES (1, 1, 1, 1), (2, 2, 2, NULL), "
                    "(3, 3, 1, NULL)",
                    "INSERT INTO notifications (pre_booking_id, request_reader_id, chat_id, "
                    "text, kind) VALUES (1, 1, 11, 'ordered', 'ordered'), "
                    "(NULL, 2, 22, 'declined', 'declined'), (NULL, NULL, 11, 'digest', 'digest'), "
                    "(2, NULL, 22, 'back', 'back_in_stock')",
                    "INSERT INTO staff_digests (due_at, recipients) VALUES (now(), 1)",
                ):
                    await connection.execute(text(statement))
            async with engine.begin() as connection:
                await downgrade_to(connection, "0013")
                tables = (await schema(connection))[0]
                assert tables == TABLES - {
                    "book_requests",
                    "book_request_readers",
                    "staff_digests",
                }
                kept = "SELECT pre_booking_id, kind FROM notifications"
                assert [tuple(row) for row in await connection.execute(text(kept))] == [
                    (2, "back_in_stock")
                ]
                statuses = "SELECT id, status::text FROM pre_bookings ORDER BY id"
                assert [tuple(row) for row in await connection.execute(text(statuses))] == [
                    (1, "waiting"),
                    (2, "waiting"),
                ]
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                assert await schema(connection) == (TABLES, ENUMS)
                assert await connection.scalar(text("SELECT count(*) FROM book_requests")) == 0
                await connection.execute(
                    text(
                        "INSERT INTO notifications (chat_id, text, kind) "
                        "VALUES (11, 'digest', 'digest')"
                    )
                )
        finally:
            await engine.dispose()
