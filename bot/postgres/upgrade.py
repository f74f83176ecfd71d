"""Bring a data folder made by PostgreSQL 16 (the pgserver package, before) to 18.

pg_upgrade with both versions' binaries from the wheel, into a new folder; the old one is
kept, renamed, and is put back if the upgraded server does not start and answer.
"""

import logging
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bot.postgres.programs import (
    SUPPORTED_VERSION,
    EmbeddedPostgresUnavailable,
    initdb,
    is_root,
    make_folder_for_server,
    run,
    server_binaries,
)
from bot.postgres.server import ensure_running, running_postmaster, socket_folder, stop_server
from bot.postgres.system_user import give_to_system_user

logger = logging.getLogger(__name__)

UPGRADABLE_VERSION = 16
# Written into the new folder once pg_upgrade has finished, removed before a roll back
# renames that folder aside: a folder left by a crash is offered as the way out only if
# the conversion finished and was not rolled back.
FINISHED = "bookstore-upgrade-finished"


def upgrade_cluster(data_folder: Path, version: int) -> None:
    if version != UPGRADABLE_VERSION:
        raise EmbeddedPostgresUnavailable(
            f"{data_folder} was made by PostgreSQL {version}; this bot runs PostgreSQL "
            f"{SUPPORTED_VERSION} and upgrades only folders made by {UPGRADABLE_VERSION}: "
            "move the folder away (or use the release that made it) or set DATABASE_URL"
        )
    stop_old_server(data_folder)
    upgraded = data_folder.with_name(f"{data_folder.name}.pg{SUPPORTED_VERSION}")
    try:
        convert(data_folder, upgraded)
    except EmbeddedPostgresUnavailable as error:
        raise EmbeddedPostgresUnavailable(
            f"could not upgrade the PostgreSQL {version} data in {data_folder} to "
            f"{SUPPORTED_VERSION}, which is untouched ({last_line(str(error))}); "
            f"pg_upgrade's logs are in {upgraded}: fix the cause and start again, "
            "or set DATABASE_URL"
        ) from None
    backup = free_name(data_folder.with_name(f"{data_folder.name}-pg{version}-backup"))
    data_folder.rename(backup)
    upgraded.rename(data_folder)
    try:
        sockets = ensure_running(data_folder)
        query(SUPPORTED_VERSION, sockets, "SELECT count(*) FROM pg_database")
    except EmbeddedPostgresUnavailable as error:
        stop_server(data_folder, "immediate")
        (data_folder / FINISHED).unlink(missing_ok=True)
        data_folder.rename(free_name(upgraded))
        backup.rename(data_folder)
        raise EmbeddedPostgresUnavailable(
            f"the upgraded PostgreSQL {SUPPORTED_VERSION} in {data_folder} did not start "
            f"({last_line(str(error))}); the data from {version} is back in place: "
            "set DATABASE_URL, or report this"
        ) from None
    logger.warning(
        "Upgraded the embedded PostgreSQL data in %s from version %d to %d; the old copy "
        "is kept in %s (delete it once the bot runs well)",
        data_folder,
        version,
        SUPPORTED_VERSION,
        backup,
    )


def refuse_upgrade_leftovers(data_folder: Path) -> None:
    """Before a new data folder is made where there is none: an upgrade cut short between
    its renames (or its roll back) leaves the data beside it, never to be replaced by an
    empty database unasked."""
    upgraded = newest(data_folder.parent.glob(f"{data_folder.name}.pg{SUPPORTED_VERSION}*"))
    backup = newest(data_folder.parent.glob(f"{data_folder.name}-pg{UPGRADABLE_VERSION}-backup*"))
    if upgraded is None and backup is None:
        return
    finished = upgraded is not None and (upgraded / FINISHED).exists()
    ways = [
        f"{what} with `mv {shlex.quote(str(source))} {shlex.quote(str(data_folder))}`"
        for what, source in (
            ("finish it", upgraded if finished else None),
            ("roll it back", backup),
        )
        if source is not None
    ]
    left = " and ".join(str(source) for source in (upgraded, backup) if source is not None)
    # After a crash in a roll back, the new folder is the upgrade that failed.
    failed = (
        "" if finished or upgraded is None else f" ({upgraded} is an upgrade that did not finish)"
    )
    raise EmbeddedPostgresUnavailable(
        f"{data_folder} is missing, and an upgrade of it left {left}{failed}: "
        f"{', or '.join([*ways, 'move those away to start with an empty database'])}, "
        "then start again"
    )


def newest(paths: Iterable[Path]) -> Path | None:
    folders = [path for path in paths if path.is_dir()]
    return max(folders, key=lambda path: path.stat().st_mtime, default=None)


def stop_old_server(data_folder: Path) -> None:
    """pg_upgrade needs the old server stopped after a clean shutdown.

    An old release may have left it running (it did after a kill -9); stopping it under a
    bot that still uses it would be wrong, so that case is refused."""
    if running_postmaster(data_folder) is not None:
        clients = query(
            UPGRADABLE_VERSION,
            postmaster_socket(data_folder),
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )
        if int(clients) > 0:
            raise EmbeddedPostgresUnavailable(
                f"the PostgreSQL {UPGRADABLE_VERSION} server in {data_folder} is in use: "
                "stop the bot (or whatever uses it), then start again"
            )
        stop_server(data_folder)
    if not shut_down_cleanly(data_folder):
        # Killed: a start replays its log, then a stop leaves it clean.
        (data_folder / "postmaster.pid").unlink(missing_ok=True)
        old_pg_ctl(
            data_folder,
            "start",
            "--wait",
            f"--log={data_folder / 'log'}",
            f'--options=-h "" -k "{socket_folder(data_folder)}"',
        )
        old_pg_ctl(data_folder, "stop", "--wait", "--mode=fast")


def postmaster_socket(data_folder: Path) -> Path:
    return Path((data_folder / "postmaster.pid").read_text().splitlines()[4])


def query(version: int, sockets: Path, sql: str) -> str:
    return run(
        version, "psql", "--no-psqlrc", "-At", "-h", str(sockets), "-U", "postgres", "-c", sql
    ).strip()


def old_pg_ctl(data_folder: Path, *args: str) -> None:
    run(UPGRADABLE_VERSION, "pg_ctl", *args, "--pgdata", str(data_folder), timeout=120)


def control_data(data_folder: Path) -> str:
    return run(UPGRADABLE_VERSION, "pg_controldata", "--pgdata", str(data_folder))


def shut_down_cleanly(data_folder: Path) -> bool:
    return re.search(r"cluster state:\s+shut down\n", control_data(data_folder)) is not None


def convert(data_folder: Path, upgraded: Path) -> None:
    shutil.rmtree(upgraded, ignore_errors=True)  # from an attempt that failed
    make_folder_for_server(upgraded)
    # pg_upgrade needs the new cluster's checksum setting to match (pgserver's had none).
    checksums = re.search(r"checksum version:\s+0\n", control_data(data_folder)) is None
    initdb(upgraded, *([] if checksums else ["--no-data-checksums"]))
    # pg_upgrade writes scripts in its working folder and puts sockets there: a short
    # path the server's user owns.
    with tempfile.TemporaryDirectory(prefix="bookstore-pg-upgrade-") as work:
        if is_root():
            give_to_system_user(Path(work))
        run(
            SUPPORTED_VERSION,
            "pg_upgrade",
            f"--old-bindir={server_binaries(UPGRADABLE_VERSION)}",
            f"--new-bindir={server_binaries(SUPPORTED_VERSION)}",
            f"--old-datadir={data_folder}",
            f"--new-datadir={upgraded}",
            "--username=postgres",
            f"--socketdir={work}",
            cwd=Path(work),
            timeout=3600,
        )
    (upgraded / FINISHED).write_text("pg_upgrade finished\n")
    if is_root():
        give_to_system_user(upgraded / FINISHED)


def free_name(path: Path) -> Path:
    """path, or path-2, path-3 … if taken."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate


def last_line(message: str) -> str:
    """The line that says what went wrong, from a tool's many lines."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    useful = [line for line in lines if line not in ("Failure, exiting",)]
    return (useful or lines or [message])[-1]
