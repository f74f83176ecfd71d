"""The embedded server's set-up: as root it opens no one's folders, it hands its processes
none of the bot's secrets, and every way it can fail is one line."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.postgres.embedded import start_embedded_postgres
from bot.postgres.programs import SYSTEM_USER, EmbeddedPostgresUnavailable, binaries, is_root
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
