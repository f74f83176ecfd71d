"""Engine, sessions and the declarative base shared by every domain."""

import enum

from sqlalchemy import Enum, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from bot.database_url import parse_database_url

# Stable constraint names, so the hand-written migration and the models agree.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def status_enum(statuses: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum holding the members' lowercase values, not their names."""
    return Enum(statuses, name=name, values_callable=lambda members: [m.value for m in members])


def async_database_url(url: str) -> URL:
    """The URL for SQLAlchemy's asyncpg dialect, from a `postgresql://…` URL as hosts hand
    them out; create_engine applies the rest of its options."""
    target = parse_database_url(url)
    kept = {"host": target.libpq_options.get("host"), "ssl": target.libpq_options.get("sslmode")}
    return target.url.set(query={key: value for key, value in kept.items() if value})


POOL_TIMEOUT_SECONDS = 10


def create_engine(url: str) -> AsyncEngine:
    """An engine that checks a pooled connection before use, so a restarted server heals,
    gives up connecting after a few seconds, and honours the URL's libpq options."""
    target = parse_database_url(url)
    return create_async_engine(
        target.url,
        pool_pre_ping=True,
        # Room for every handler at once (update_processor's bound) plus the dispatcher's
        # claim and outcome writes, so neither waits for the other's connections.
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        async_creator=target.connect,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# Ids are bigint: anything outside this range cannot name a row.
MAX_ID = 2**63 - 1


def is_valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID
