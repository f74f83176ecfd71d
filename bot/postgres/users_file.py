"""Who uses a folder's embedded server: the list the last user to leave stops it by.

Each entry is a process id with its start time, so a pid reused by a later process is
not taken for the one that died; dead entries (kill -9) are dropped whenever it is read.
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil


@contextmanager
def folder_lock(data_folder: Path) -> Iterator[None]:
    """One process at a time starts, stops or changes the users of the folder's server.

    An flock: the system drops it when its holder dies, so a kill -9 never wedges it."""
    import fcntl  # Unix only, as is the embedded server

    with open(data_folder.with_name(f"{data_folder.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


Process = tuple[int, float]


def this_process() -> Process:
    return process_identity(os.getpid())


def process_identity(pid: int) -> Process:
    """pid with its start time: a pid reused by a later process does not match."""
    return pid, round(psutil.Process(pid).create_time(), 2)


def is_alive(process: Process) -> bool:
    try:
        return (
            process_identity(process[0]) == process
            and psutil.Process(process[0]).status() != psutil.STATUS_ZOMBIE
        )
    except psutil.Error:
        return False


def users_file(data_folder: Path) -> Path:
    return data_folder.with_name(f"{data_folder.name}.users.json")


def live_users(data_folder: Path) -> list[Process]:
    try:
        entries = json.loads(users_file(data_folder).read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [
        user for user in ((int(pid), float(started)) for pid, started in entries) if is_alive(user)
    ]


def write_users(data_folder: Path, users: list[Process]) -> None:
    """Whole or not at all: a kill -9 midway must not lose the other users."""
    writing = users_file(data_folder).with_suffix(".writing")
    writing.write_text(json.dumps(users))
    writing.replace(users_file(data_folder))
