"""Whether DATABASE_URL leads to a database, said in one line that names what to check.

`run` beside its database (a server still booting, compose without a healthcheck) waits
for it a while; the other commands try once.
"""

import asyncio
import logging
import socket
import ssl
import time

import asyncpg

from bot.database_url import AsyncpgTarget, parse_database_url
from bot.postgres.health_check import one_line

logger = logging.getLogger(__name__)

RETRY_EVERY_SECONDS = 1.0
HOST_AND_PORT = "check DATABASE_URL's host and port, and that PostgreSQL is running there"


class DatabaseUnreachable(Exception):
    """One line for the operator: what failed and what to check, never the password."""


def wait_for_database(url: str, patience: float = 0) -> None:
    """Return once a connection succeeds; while the server is not there yet (refused, no
    such host yet, starting up), keep trying for patience seconds, saying so once."""
    asyncio.run(_wait(parse_database_url(url), patience))


async def _wait(target: AsyncpgTarget, patience: float) -> None:
    deadline = time.monotonic() + patience
    said = False
    while True:
        try:
            connection = await target.connect()
        except Exception as error:  # every failure to connect becomes the one line
            if not _not_there_yet(error) or time.monotonic() >= deadline:
                raise DatabaseUnreachable(explained(target, error, patience)) from None
            if not said:
                logger.info(
                    "Waiting up to %g s for the database at %s (%s)",
                    patience,
                    _where(target),
                    _reason(error),
                )
                said = True
            await asyncio.sleep(min(RETRY_EVERY_SECONDS, deadline - time.monotonic()))
        else:
            await connection.close()
            return


def _not_there_yet(error: Exception) -> bool:
    """A server that may yet come: not listening, its name not known yet, still booting."""
    if isinstance(error, ssl.SSLError):
        return False
    return isinstance(error, OSError | asyncpg.CannotConnectNowError)


def explained(target: AsyncpgTarget, error: Exception, patience: float = 0) -> str:
    where = f"the database at {_where(target)}"
    waited = f" (tried for {patience:g} s)" if patience else ""
    # A wrong password (InvalidPasswordError) is one of these too.
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return f"{where}: {one_line(error)}: check DATABASE_URL's user and password"
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return f"{where}: {one_line(error)}: check DATABASE_URL's database name"
    if isinstance(error, ssl.SSLError):
        return f"{where}: TLS failed ({one_line(error)}): check sslmode and the certificates"
    if isinstance(error, ConnectionRefusedError):
        return f"{where} refused the connection{waited}: {HOST_AND_PORT}"
    if isinstance(error, OSError | asyncpg.CannotConnectNowError):
        return f"{where}: {_reason(error)}{waited}: {HOST_AND_PORT}"
    return f"{where}: {one_line(error)}"


def _reason(error: Exception) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "no such host"
    if isinstance(error, TimeoutError):
        return "no answer"
    return one_line(error)


def _where(target: AsyncpgTarget) -> str:
    host = target.url.host or target.libpq_options.get("host") or "localhost"
    port = target.url.port or target.libpq_options.get("port") or 5432
    return f"{host}:{port}"
