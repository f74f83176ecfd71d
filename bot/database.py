"""Engine, sessions and the declarative base shared by every domain."""

import enum

from sqlalchemy import Enum, MetaData
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so the hand-written migration and the models agree.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# libpq options that hosts put in their URLs but asyncpg does not take as keywords.
_LIBPQ_ONLY_OPTIONS = ("channel_binding", "target_session_attrs", "application_name")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def status_enum(statuses: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum holding the members' lowercase values, not their names."""
    return Enum(statuses, name=name, values_callable=lambda members: [m.value for m in members])


def async_database_url(url: str) -> URL:
    """Turn a `postgresql://…` URL, as hosts hand them out, into one for asyncpg."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql:// URL")
    parsed = parsed.set(drivername="postgresql+asyncpg")
    query = dict(parsed.query)
    if "sslmode" in query:
        # asyncpg spells libpq's sslmode as ssl, with the same values.
        query["ssl"] = query.pop("sslmode")
    for option in _LIBPQ_ONLY_OPTIONS:
        query.pop(option, None)
    return parsed.set(query=query)


# A reader waits this long at most for a database that doesn't answer, then hears
# "temporarily unavailable" instead of a hang.
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 10


def create_engine(url: str) -> AsyncEngine:
    """An engine that checks a pooled connection before use, so a restarted server heals,
    and gives up connecting after a few seconds."""
    return create_async_engine(
        async_database_url(url),
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# Ids are bigint: anything outside this range cannot name a row.
MAX_ID = 2**63 - 1


def is_valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID
