"""`bookstore-bot check`: whether the settings and the database let the bot run.

One line per check, for a person or a container's HEALTHCHECK; nothing is changed.
"""

import asyncio
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.database import create_engine
from bot.postgres import migrate

# A health check must answer, even when the database doesn't.
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Finding:
    ok: bool
    line: str


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(migrate.alembic_config()).get_heads())


def check_database(database_url: str) -> list[Finding]:
    """Reachable, and its schema at the newest revision (else: migrations pending)."""
    try:
        return asyncio.run(asyncio.wait_for(read_database(database_url), TIMEOUT_SECONDS))
    except TimeoutError:
        return [Finding(False, f"database: no answer within {TIMEOUT_SECONDS} s")]
    except Exception as error:  # any failure to connect is the finding itself
        return [Finding(False, f"database: unreachable ({one_line(error)})")]


async def read_database(database_url: str) -> list[Finding]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(text("SHOW server_version"))
            current = await connection.run_sync(current_revisions)
    finally:
        await engine.dispose()
    heads = head_revisions()
    findings = [Finding(True, f"database: reachable (PostgreSQL {version})")]
    if current == heads:
        findings.append(Finding(True, f"schema: up to date ({', '.join(sorted(heads))})"))
    else:
        at = ", ".join(sorted(current)) or "empty"
        findings.append(
            Finding(
                False,
                f"schema: migrations pending (at {at}, newest {', '.join(sorted(heads))}): "
                "run bookstore-bot migrate",
            )
        )
    return findings


def current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def one_line(error: BaseException) -> str:
    message = " ".join(str(error).split()) or type(error).__name__
    return message[:300]
