"""One data folder's server process: start it, find it, stop it.

Which process is the folder's server is read from its postmaster.pid and checked, so a
stale file (a killed server, a container restart) never makes us signal or trust a
process that is not it.
"""

import contextlib
import hashlib
import logging
import signal
import tempfile
import time
from pathlib import Path

import psutil

from bot.postgres.programs import (
    SUPPORTED_VERSION,
    EmbeddedPostgresUnavailable,
    make_folder_for_server,
    run,
    server_uid,
)

logger = logging.getLogger(__name__)

# A Unix socket path longer than this does not fit in sockaddr_un (104 bytes on macOS).
SOCKET_PATH_LIMIT = 100
START_TIMEOUT_SECONDS = 60
# How long each stop signal (fast, then immediate) gets: with the dispatcher's 5 s, within
# Docker's 10 s before SIGKILL.
STOP_TIMEOUT_SECONDS = {signal.SIGINT: 2.5, signal.SIGQUIT: 1.5}


def postmaster_lines(data_folder: Path) -> list[str]:
    try:
        return (data_folder / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return []


def running_postmaster(data_folder: Path) -> psutil.Process | None:
    """The server of this folder, if postmaster.pid names it and it is alive.

    After a container restart the pid may belong to an unrelated process: checked by the
    process's name and command line, so nothing else is ever signalled or trusted.
    """
    lines = postmaster_lines(data_folder)
    if not lines:
        return None
    try:
        process = psutil.Process(int(lines[0]))
        if (
            process.status() != psutil.STATUS_ZOMBIE
            and process.name() == "postgres"
            and str(data_folder) in process.cmdline()
        ):
            return process
    except psutil.AccessDenied:
        # Not ours to look at: never take it for a dead server and start a second one.
        raise EmbeddedPostgresUnavailable(
            f"the PostgreSQL server of {data_folder} runs as another user; run the bot as "
            "that user, or set DATABASE_URL"
        ) from None
    except (psutil.Error, ValueError):
        pass
    return None


def socket_folder(data_folder: Path) -> Path:
    """The data folder, unless its path is too long for a socket name."""
    if len(str(data_folder / ".s.PGSQL.5432")) <= SOCKET_PATH_LIMIT:
        return data_folder
    digest = hashlib.sha256(str(data_folder).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"bookstore-pg-{digest}"
    if not folder.exists():
        make_folder_for_server(folder)
    # A predictable name in a shared folder: never use one another user made.
    if folder.stat().st_uid != server_uid():
        raise EmbeddedPostgresUnavailable(
            f"{folder} belongs to another user: remove it, or use a shorter DATA_DIR"
        )
    return folder


def ensure_running(data_folder: Path) -> Path:
    """Start the server unless it runs; its socket folder."""
    if running_postmaster(data_folder) is None:
        # Left by a killed server (or a container restart): postgres would refuse to start
        # while its pid is taken by whatever process has it now.
        (data_folder / "postmaster.pid").unlink(missing_ok=True)
        sockets = socket_folder(data_folder)
        log = data_folder / "server.log"
        try:
            run(
                SUPPORTED_VERSION,
                "pg_ctl",
                "start",
                "--wait",
                f"--timeout={START_TIMEOUT_SECONDS}",
                "--pgdata",
                str(data_folder),
                f"--log={log}",
                # No TCP at all; the socket lives with the data.
                f'--options=-h "" -k "{sockets}"',
                timeout=START_TIMEOUT_SECONDS + 10,
            )
        except EmbeddedPostgresUnavailable:
            raise EmbeddedPostgresUnavailable(
                f"the embedded PostgreSQL in {data_folder} did not start: its log is {log}"
            ) from None
    # postmaster.pid's fifth line is the socket folder, for servers started by others too.
    return Path(postmaster_lines(data_folder)[4])


def stop_server(data_folder: Path, mode: str = "fast") -> None:
    """Stop this folder's server promptly: fast (sessions ended, a checkpoint), or
    immediate (crash recovery at the next start) if that overruns.

    Signalled directly, as pg_ctl would, but only once running_postmaster has checked the
    process is this folder's server."""
    signals = {"fast": [signal.SIGINT, signal.SIGQUIT], "immediate": [signal.SIGQUIT]}[mode]
    for stop_signal in signals:
        server = running_postmaster(data_folder)
        if server is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            server.send_signal(stop_signal)
        # Done when it removes postmaster.pid, its last act; its exit is not awaited, as
        # its parent (init, in a container) may be slow to reap it.
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS[stop_signal]
        while time.monotonic() < deadline:
            if running_postmaster(data_folder) is None:
                return
            time.sleep(0.02)
        logger.warning("The embedded PostgreSQL is slow to stop; stopping it at once")
