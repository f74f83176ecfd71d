"""Whether DATABASE_URL reaches PostgreSQL through PgBouncer.

The bot itself works there (bot/database_url.py), but pg_dump and psql set session
settings (search_path = '' among them) that PgBouncer in transaction mode leaves on the
server connection it lends the bot next, whose queries then find no tables. So backup and
restore ask for the server itself.
"""

import asyncio
from dataclasses import replace

import asyncpg

from bot.database_url import parse_database_url

# PostgreSQL takes any custom setting at connection start; PgBouncer refuses a start-up
# parameter it doesn't know, naming it.
PROBE = "bookstore.direct"
REFUSED = "unsupported startup parameter"


def behind_pgbouncer(database_url: str) -> bool:
    """True when PgBouncer answers; False for the server itself, or when neither does (the
    caller's own connection then says why)."""
    return asyncio.run(_probe(database_url))


async def _probe(database_url: str) -> bool:
    target = parse_database_url(database_url)
    probe = replace(target, server_settings={**target.server_settings, PROBE: "on"})
    try:
        connection = await probe.connect()
    except asyncpg.ProtocolViolationError as error:
        return REFUSED in str(error)
    except Exception:  # unreachable, refused, a wrong password: not ours to report
        return False
    await connection.close()
    return False
