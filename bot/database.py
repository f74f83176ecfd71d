"""Engine, sessions and the declarative base shared by every domain."""

import enum
import time
from datetime import timedelta, tzinfo
from typing import Any

from sqlalchemy import Enum, MetaData, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

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
# A pooled connection idle this long is checked before use. One used just now needs no
# check: SQLAlchemy's pre-ping costs three round trips (BEGIN, a query, ROLLBACK) on every
# checkout, a third of the database time in a burst of presses; and should the server
# go away meanwhile, the statement's disconnect error invalidates the whole pool anyway.
PING_AFTER_IDLE_SECONDS = 1.0
RETURNED_AT = "returned_at"


def create_engine(url: str) -> AsyncEngine:
    """An engine that checks a pooled connection before use when it has been idle, so a
    restarted server heals, gives up connecting after a few seconds, and honours the
    URL's libpq options."""
    target = parse_database_url(url)
    engine = create_async_engine(
        target.url,
        # Room for every handler at once (update_processor's bound) plus the dispatcher's
        # claim and outcome writes, so neither waits for the other's connections.
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        async_creator=target.connect,
    )
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def note_return(dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
        entry.info[RETURNED_AT] = time.monotonic()

    def ping_if_idle(
        dbapi_connection: Any, entry: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        returned_at = entry.info.get(RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool drops every connection older than now and connects afresh.
                raise InvalidatePoolError() from error
            raise

    event.listen(pool, "checkin", note_return)
    event.listen(pool, "checkout", ping_if_idle)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# Ids are bigint: anything outside this range cannot name a row.
MAX_ID = 2**63 - 1


def is_valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


def zone_name(zone: tzinfo) -> str:
    """The shop's time zone (TIMEZONE) by the name PostgreSQL knows it by, for SQL that
    works out days in shop time (AT TIME ZONE)."""
    key = getattr(zone, "key", None)  # a ZoneInfo's IANA name
    if isinstance(key, str):
        return key
    if zone.utcoffset(None) == timedelta(0):
        return "UTC"
    raise ValueError(f"no PostgreSQL name for the time zone {zone!r}; use an IANA name")
