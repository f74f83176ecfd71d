"""Alembic environment: async engine, or a connection handed in by the caller."""

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.database import async_database_url, create_engine
from bot.models import Base

config = context.config
# Processes started together (replicas, `run` beside `migrate`) each migrate: one at a time,
# the later ones then finding nothing to do. A transaction's lock, so that PgBouncer's
# transaction mode keeps it, released by the migration's own commit or rollback.
MIGRATION_LOCK = 7_220_011
target_metadata = Base.metadata

if config.config_file_name is not None and not config.attributes.get("skip_logging_setup"):
    fileConfig(config.config_file_name)


def database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set")
    return str(url)


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def run_with_own_engine() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def run_offline() -> None:
    url = async_database_url(database_url()).set(drivername="postgresql")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (shared_connection := config.attributes.get("connection")) is not None:
    # Alembic cookbook, "Using Asyncio with Alembic": a caller already inside an
    # event loop runs us through `AsyncConnection.run_sync` and lends its connection.
    run_on(shared_connection)
else:
    asyncio.run(run_with_own_engine())
