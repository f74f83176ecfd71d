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
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import IO

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.database import create_engine
from bot.postgres import migrate
from bot.postgres.backup import (
    BackupError,
    last_line,
    programs_environment,
    refuse_pgbouncer,
    run,
    tool,
)
from bot.postgres.health_check import one_line
from bot.postgres.libpq import requires_tls

# pg_dump 17+ writes it; servers before 17 refuse it, and it changes nothing on a restore.
NEWER_SERVERS_ONLY = b"SET transaction_timeout = 0;\n"
# Everything the bot keeps lives in schema public. A running bot holds locks: fail rather
# than wait for it forever.
LOCK_TIMEOUT_SECONDS = 10
REPLACE_EVERYTHING = (
    f"SET lock_timeout = '{LOCK_TIMEOUT_SECONDS}s';\n"
    "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
).encode()
STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """SIGTERM or SIGINT during a restore. A BaseException, as KeyboardInterrupt is:
    nothing on its way may take it for an error of its own."""


class Interruption:
    """SIGTERM and SIGINT while a restore loads: Stopped at once while nothing is
    committed; once COMMIT is on its way, noted, for the restore to end first. Only the
    first counts, so that the clean-up is not cut short."""

    def __init__(self) -> None:
        self.committing = False
        self.received: str | None = None

    def handle(self, number: int, _: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.Signals(number).name
            if not self.committing:
                raise Stopped(self.received)

    @contextmanager
    def handled(self) -> Iterator[None]:
        previous = {number: signal.signal(number, self.handle) for number in STOPPING_SIGNALS}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def restore(database_url: str, path: Path, force: bool) -> str:
    """Load a backup into an empty database (any, with force), then migrate it to head."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    refuse_pgbouncer(database_url)
    interruption = Interruption()
    with programs_environment(database_url) as environment:
        run(
            [tool("pg_restore"), "--list", str(path)],
            environment,
            what=f"{path} is not a backup made by pg_dump",
        )
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
    migrate.upgrade(database_url)
    return f"Restored {path} and brought the schema up to date."


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
    error)."""
    assert script.stdout is not None
    assert loader.stdin is not None
    try:
        loader.stdin.write(b"BEGIN;\n")
        if replace:
            loader.stdin.write(REPLACE_EVERYTHING)
        for line in script.stdout:
            if not (drop_newer_settings and line == NEWER_SERVERS_ONLY):
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


def stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the process unless it ended, wait for it, and only then close its pipes (the
    end of psql's input must never come before it is stopped)."""
    if process.poll() is None:
        process.kill()
    process.wait()
    pipes: list[IO[bytes] | None] = [process.stdin, process.stdout]
    for pipe in pipes:
        if pipe is not None:
            with suppress(BrokenPipeError):
                pipe.close()


def read(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode(errors="replace")


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
