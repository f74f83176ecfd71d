"""The schema comes from the hand-written migration, and it matches the models."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import migrate
from bot.database import create_engine
from bot.models import Base
from tests.conftest import temporary_database

TABLES = {"alembic_version", "books", "pre_bookings", "users"}


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
                assert await schema(connection) == (TABLES, ["pre_booking_status"])
            async with engine.begin() as connection:
                await downgrade_to_base(connection)
                assert await schema(connection) == ({"alembic_version"}, [])
            async with engine.begin() as connection:
                await migrate.upgrade_on(connection)
                assert await schema(connection) == (TABLES, ["pre_booking_status"])
        finally:
            await engine.dispose()


async def test_models_match_the_migration(engine: AsyncEngine) -> None:
    def differences(sync_connection: Connection) -> list[object]:
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_waiting_index_is_partial_on_waiting(engine: AsyncEngine) -> None:
    """Autogenerate does not compare index predicates, so check this one by hand."""
    index = next(index for index in Base.metadata.tables["pre_bookings"].indexes if index.unique)
    model_predicate = str(index.dialect_options["postgresql"]["where"])
    async with engine.connect() as connection:
        definition = await connection.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
            {"name": index.name},
        )
    assert model_predicate == "status = 'waiting'"
    assert definition is not None
    assert definition.startswith(f"CREATE UNIQUE INDEX {index.name} ON public.pre_bookings")
    assert "(user_id, book_id)" in definition
    assert definition.endswith("WHERE (status = 'waiting'::pre_booking_status)")
