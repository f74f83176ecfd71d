"""`bookstore-bot restore`: a backup loaded whole, or not at all.

pg_restore turns the dump into SQL and psql replays it, in one transaction that this
module opens with BEGIN and ends with COMMIT only once pg_restore has exited 0 and every
line has been passed on. psql takes the end of its input for the end of the session, and
the server rolls back a transaction left open, so a restore cut short at any moment (the
bot's process killed, even with SIGKILL; a dump cut off; pg_restore failing; psql
stopping at an error, such as a table a running bot holds) leaves the database as it was.
(psql's --single-transaction would commit at the end of its input, whatever came before.)
On any failure psql is stopped before its input is closed; SIGTERM and Ctrl+C stop the
restore that way and say so in one line.

A dump of a newer server can go into an older one (PostgreSQL 16 in compose.yaml): the one
setting older servers don't know is left out.
"""

import asyncio
import re
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path

from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.database import create_engine
from bot.postgres import migrate
from bot.postgres.backup import (
    TIMEOUT_SECONDS,
    BackupError,
    last_line,
    programs_environment,
    read,
    refuse_pgbouncer,
    stop,
    tool,
)
from bot.postgres.health_check import one_line
from bot.postgres.libpq import requires_tls
from bot.postgres.stopping import Interruption, Stopped

# pg_dump 17+ writes it; servers before 17 refuse it, and it changes nothing on a restore.
NEWER_SERVERS_ONLY = b"SET transaction_timeout = 0;\n"
# Everything the bot keeps lives in schema public. A running bot holds locks: fail rather
# than wait for it forever.
LOCK_TIMEOUT_SECONDS = 10
# Large objects in `pg_restore --list`: BLOB, BLOBS, BLOB METADATA (and older names).
LARGE_OBJECTS = re.compile(r"^\d+; \d+ \d+ (BLOB|LARGE OBJECT)", re.MULTILINE)
REPLACE_EVERYTHING = (
    f"SET lock_timeout = '{LOCK_TIMEOUT_SECONDS}s';\n"
    "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
).encode()


def restore(database_url: str, path: Path, force: bool) -> str:
    """Load a backup into an empty database (any, with force), then migrate it to head."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    refuse_pgbouncer(database_url)
    interruption = Interruption()
    with programs_environment(database_url) as environment:
        refuse_large_objects(path, environment)
        try:
            tables, server_version = asyncio.run(inspect_target(database_url))
        except (OSError, SQLAlchemyError) as error:
            raise BackupError(f"could not reach the database: {one_line(error)}") from None
        if tables and not force:
            raise BackupError(
                f"the database is not empty ({tables} tables): restore into an empty "
                "database, or add --force to replace everything in it (stop the bot first)"
            )
        try:
            with interruption.handled():
                replay(
                    environment,
                    path,
                    interruption,
                    psql=tool("psql", requires_tls(database_url)),
                    replace=tables > 0,
                    drop_newer_settings=server_version < 170000,
                )
        except Stopped as stop:
            raise BackupError(
                f"stopped by {stop}: nothing restored, the database is as it was"
            ) from None
    if interruption.received:
        raise BackupError(
            f"stopped by {interruption.received} once {path} was restored, before the "
            "schema was brought up to date: run bookstore-bot migrate"
        )
    bring_up_to_date(database_url, path)
    return f"Restored {path} and brought the schema up to date."


def refuse_large_objects(path: Path, environment: dict[str, str]) -> None:
    """pg_restore's SQL wraps large objects in a BEGIN and COMMIT of its own, which would
    end the restore's one transaction part-way (and the bot keeps none): refused before the
    database is touched."""
    listed = subprocess.run(
        [tool("pg_restore"), "--list", str(path)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT_SECONDS,
    )
    if listed.returncode != 0:
        raise BackupError(f"{path} is not a backup made by pg_dump")
    if LARGE_OBJECTS.search(listed.stdout):
        raise BackupError(
            f"{path} holds large objects, which the bot never stores and a restore cannot "
            "load in one transaction: nothing restored"
        )


def bring_up_to_date(database_url: str, path: Path) -> None:
    """Migrate the restored database, saying in one line what it holds if that fails."""
    interruption = Interruption()
    try:
        with interruption.handled():
            migrate.upgrade(database_url)
    except Stopped as stop:
        raise BackupError(
            f"stopped by {stop} once {path} was restored, before the schema was brought up "
            "to date: run bookstore-bot migrate"
        ) from None
    except (CommandError, SQLAlchemyError, OSError) as error:
        raise BackupError(
            f"restored {path}, but bringing the schema up to date failed: {one_line(error)}; "
            "the database holds the backup as it was made: run `bookstore-bot migrate` with a "
            "bot at least as new as the one that made it"
        ) from None


def replay(
    environment: dict[str, str],
    path: Path,
    interruption: Interruption,
    *,
    psql: str,
    replace: bool,
    drop_newer_settings: bool,
) -> None:
    """pg_restore's SQL, as the connecting user (no owners, no grants), into psql in one
    transaction; with replace, what the database held is dropped in that transaction."""
    with tempfile.TemporaryFile() as dump_errors, tempfile.TemporaryFile() as load_errors:
        # In their own process group: Ctrl+C reaches the bot alone, which stops them.
        script = subprocess.Popen(
            [tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(path)],
            stdout=subprocess.PIPE,
            stderr=dump_errors,
            env=environment,
            process_group=0,
        )
        try:
            loader = subprocess.Popen(
                [psql, "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=load_errors,
                env=environment,
                process_group=0,
            )
            try:
                fed = feed(
                    script, loader, replace=replace, drop_newer_settings=drop_newer_settings
                )
                if fed and script.wait() != 0:
                    raise BackupError(
                        f"pg_restore failed, nothing restored: {last_line(read(dump_errors))}"
                    )
                committed = fed and commit(loader, interruption)
            finally:
                stop(loader)
        finally:
            stop(script)
        if not committed:
            raise BackupError(load_failure(last_line(read(load_errors))))


def feed(
    script: subprocess.Popen[bytes],
    loader: subprocess.Popen[bytes],
    replace: bool,
    drop_newer_settings: bool,
) -> bool:
    """BEGIN, then pg_restore's SQL to its end; False if psql stopped taking it (at an
    error). The setting is dropped from the header only (before any data), so that no
    line of a table's data is ever left out."""
    assert script.stdout is not None
    assert loader.stdin is not None
    in_header = drop_newer_settings
    try:
        loader.stdin.write(b"BEGIN;\n")
        if replace:
            loader.stdin.write(REPLACE_EVERYTHING)
        for line in script.stdout:
            in_header = in_header and not line.startswith(b"COPY ")
            if not (in_header and line == NEWER_SERVERS_ONLY):
                loader.stdin.write(line)
        loader.stdin.flush()
    except BrokenPipeError:
        return False
    return True


def commit(loader: subprocess.Popen[bytes], interruption: Interruption) -> bool:
    """COMMIT, and psql's end, not cut short by a signal: so a restore is known to be
    whole or known to be nothing. Whether it committed."""
    assert loader.stdin is not None
    interruption.committing = True
    with suppress(BrokenPipeError):  # psql stopped at an error: it said which
        loader.stdin.write(b"COMMIT;\n")
        loader.stdin.close()
    return loader.wait() == 0


def load_failure(error: str) -> str:
    if "lock timeout" in error:
        return (
            f"the database is in use (a table stayed locked for {LOCK_TIMEOUT_SECONDS} s): "
            "stop the bot, then restore again; nothing restored"
        )
    return f"the restore failed, nothing restored: {error}"


async def inspect_target(database_url: str) -> tuple[int, int]:
    """How many tables the database holds, and its server's version number."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_tables "
                    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                )
            )
            version = await connection.scalar(text("SHOW server_version_num"))
    finally:
        await engine.dispose()
    return int(tables or 0), int(version or 0)
