"""The embedded PostgreSQL's life: its locale, kill -9, sharing, stale files, upgrades."""

import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from bot.postgres import migrate
from bot.postgres.embedded import start_embedded_postgres
from bot.postgres.programs import (
    EmbeddedPostgresUnavailable,
    make_folder_for_server,
    prepare_binaries,
    run,
    server_binaries,
)
from bot.postgres.server import socket_folder
from bot.postgres.system_user import system_user_options
from tests.chat import ADMIN, ALICE
from tests.fake_bot_api_server import running_fake_bot_api
from tests.test_command_line import bookstore_bot
from tests.test_polling_end_to_end import kill_bot, reply_to, start_bot, stop_bot


def query(version: int, url_or_socket: str | Path, sql: str) -> str:
    """psql's unaligned output; a URL, or the socket folder of a server that has no URL yet."""
    target = ["-h", str(url_or_socket)] if isinstance(url_or_socket, Path) else [url_or_socket]
    return run(version, "psql", "--no-psqlrc", "-At", *target, "-U", "postgres", "-c", sql).strip()


def servers_of(data_folder: Path) -> list[psutil.Process]:
    """Every postgres server process started on data_folder."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data_folder) in (
            process.info["cmdline"] or []
        ):
            found.append(process)
    return found


async def test_a_new_cluster_folds_case_in_every_script_under_a_c_locale(
    tmp_path: Path, data_dir: Path
) -> None:
    """systemd and Docker without LANG run the bot under C: lower() must still work."""
    c_locale = {"LANG": "C", "LC_ALL": "C", "DATA_DIR": str(data_dir)}
    result = await bookstore_bot(tmp_path, "migrate", **c_locale)
    assert result.returncode == 0, result.stderr
    assert not servers_of(data_dir / "pgdata"), "migrate left the server running"

    server = start_embedded_postgres(data_dir)
    try:
        locale = query(
            18,
            server.url,
            "SELECT datlocprovider::text || ' ' || datlocale FROM pg_database "
            "WHERE datname = current_database()",
        )
        assert locale == "b C.UTF-8"
        assert query(18, server.url, "SELECT lower('ВОЙНА И МИР')") == "война и мир"
        assert query(18, server.url, "SELECT lower('CAFÉ')") == "café"
        assert query(18, server.url, "SELECT lower('東京 ÆSOP')") == "東京 æsop"
    finally:
        server.release()


async def test_killed_bot_shared_server_and_no_server_left_behind(
    tmp_path: Path, data_dir: Path
) -> None:
    """A second process uses the running server without stopping it; after kill -9 the
    next bot takes the server over and stops it (promptly) when it stops."""
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("title,author,quantity\nDune,Frank Herbert,2\n")
    wait = asyncio.to_thread
    with running_fake_bot_api() as telegram:
        first = start_bot(tmp_path, telegram, DATA_DIR=str(data_dir))
        try:
            telegram.send_text(ALICE, "/start")
            await wait(telegram.wait_for, reply_to(ALICE.id, "Hello"), 30)
            imported = await bookstore_bot(
                tmp_path, "import-books", str(catalog), DATA_DIR=str(data_dir)
            )
            assert imported.returncode == 0, imported.stderr
            telegram.send_text(ALICE, "/books")  # the server is still there for the bot
            await wait(telegram.wait_for, reply_to(ALICE.id, "Dune"), 30)
        finally:
            await kill_bot(first)
        assert servers_of(data_dir / "pgdata"), "kill -9 left no server to take over"

        second = start_bot(tmp_path, telegram, DATA_DIR=str(data_dir))
        try:
            telegram.send_text(ADMIN, "/books")
            await wait(telegram.wait_for, reply_to(ADMIN.id, "Dune"), 30)
        finally:
            stopping = time.monotonic()
            output = await stop_bot(second)
            stop_seconds = time.monotonic() - stopping
    assert second.returncode == 0, output
    assert not servers_of(data_dir / "pgdata"), "the server was left running"
    assert stop_seconds < 10, f"stopping took {stop_seconds:.1f} s"


def test_a_stale_pid_file_naming_another_process_neither_blocks_nor_kills_it(
    data_dir: Path,
) -> None:
    """After a container restart postmaster.pid may name an unrelated live process."""
    server = start_embedded_postgres(data_dir)
    data_folder = server.data_folder
    lines = (data_folder / "postmaster.pid").read_text().splitlines()
    server.release()
    assert not servers_of(data_folder)
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = [str(unrelated.pid), *lines[1:]]
        (data_folder / "postmaster.pid").write_text("\n".join(stale) + "\n")

        server = start_embedded_postgres(data_dir)
        assert query(18, server.url, "SELECT 1") == "1"
        server.release()
        assert unrelated.poll() is None, "an unrelated process was signalled"
        assert not servers_of(data_folder)
    finally:
        unrelated.kill()
        unrelated.wait()


def test_a_data_folder_too_long_for_a_socket_name_still_works(data_dir: Path) -> None:
    deep = data_dir / ("a-rather-long-folder-name-" * 4)
    server = start_embedded_postgres(deep)
    try:
        assert len(str(deep / "pgdata" / ".s.PGSQL.5432")) > 107  # sockaddr_un's limit
        assert query(18, server.url, "SELECT 1") == "1"
    finally:
        server.release()
    assert not servers_of(deep / "pgdata")
    sockets = Path(server.url.partition("host=")[2])
    assert sockets.parent == Path(tempfile.gettempdir())
    sockets.rmdir()  # empty once the server is gone


def make_postgres16_folder(data_dir: Path) -> tuple[Path, Path]:
    """A folder as the pgserver package made it (PostgreSQL 16, its initdb call), running;
    returns it and its socket folder."""
    prepare_binaries()
    folder = data_dir / "pgdata"
    make_folder_for_server(folder)
    run(16, "initdb", "--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres",
        "-D", str(folder))  # fmt: skip
    sockets = socket_folder(folder)
    run(16, "pg_ctl", "-w", "-o", f'-h "" -k "{sockets}"', "-l", str(folder / "log"),
        "-D", str(folder), "start")  # fmt: skip
    return folder, sockets


def leave_postgres16(folder: Path, running: bool = False) -> None:
    """As pgserver left it: stopped, or running on after its bot was killed (-9)."""
    if not running:
        run(16, "pg_ctl", "-w", "-m", "fast", "-D", str(folder), "stop")
    # pgserver's handle file, naming a process long gone.
    (folder / ".handle_pids.json").write_text(json.dumps([2**22 + 1]))


def test_a_postgresql_16_folder_is_upgraded_with_everything_in_it(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder, sockets = make_postgres16_folder(data_dir)
    migrate.upgrade(f"postgresql://postgres:@/postgres?host={sockets}", "0002")
    query(16, sockets, """
        INSERT INTO users (telegram_id, chat_id, first_name) VALUES (1, 1, 'Алиса'), (2, 2, 'Bob');
        INSERT INTO books (title, author, stock_quantity)
            VALUES ('Война и мир', 'Лев Толстой', 3), ('Dune', 'Frank Herbert', 0);
        INSERT INTO pre_bookings (user_id, book_id) VALUES (1, 1), (2, 1), (2, 2);
        INSERT INTO restocks (book_id, old_stock, new_stock, admin_telegram_id)
            VALUES (1, 0, 3, 99);
        INSERT INTO notifications (restock_id, pre_booking_id, chat_id, text)
            VALUES (1, 1, 1, 'Good news'), (1, 2, 2, 'Good news');
    """)  # fmt: skip
    leave_postgres16(folder, running=True)

    with caplog.at_level(logging.INFO, logger="bot"):
        server = start_embedded_postgres(data_dir)
    try:
        assert (folder / "PG_VERSION").read_text().strip() == "18"
        assert query(18, server.url, "SHOW server_version").startswith("18.")
        assert query(18, server.url, "SELECT string_agg(title, ',' ORDER BY id) FROM books") == (
            "Война и мир,Dune"
        )
        assert query(18, server.url, "SELECT count(*) FROM pre_bookings") == "3"
        assert query(18, server.url, "SELECT string_agg(first_name, ',') FROM users") == (
            "Алиса,Bob"
        )
        pending = "SELECT count(*) FROM notifications WHERE status = 'pending'"
        assert query(18, server.url, pending) == "2"
        migrate.upgrade(server.url)  # the bot's own migrations run on it
        backup = data_dir / "pgdata-pg16-backup"
        assert (backup / "PG_VERSION").read_text().strip() == "16"
        assert f"from version 16 to 18; the old copy is kept in {backup}" in caplog.text
    finally:
        server.release()
    assert not servers_of(folder)


def test_a_failed_upgrade_leaves_the_old_folder_untouched_and_says_so(data_dir: Path) -> None:
    """pg_upgrade refuses a cluster holding a prepared transaction."""
    folder, sockets = make_postgres16_folder(data_dir)
    query(16, sockets, "ALTER SYSTEM SET max_prepared_transactions = 2")
    run(16, "pg_ctl", "-w", "-D", str(folder), "-o", f'-h "" -k "{sockets}"',
        "-l", str(folder / "log"), "restart")  # fmt: skip
    run(16, "psql", "--no-psqlrc", "-h", str(sockets), "-U", "postgres", "-c", "BEGIN",
        "-c", "CREATE TABLE kept (n int)", "-c", "PREPARE TRANSACTION 'stuck'")  # fmt: skip
    leave_postgres16(folder)
    before = sorted(path.name for path in folder.iterdir())

    with pytest.raises(EmbeddedPostgresUnavailable) as refused:
        start_embedded_postgres(data_dir)
    message = str(refused.value)
    assert "\n" not in message
    assert f"could not upgrade the PostgreSQL 16 data in {folder} to 18" in message
    assert "prepared transactions" in message
    assert (folder / "PG_VERSION").read_text().strip() == "16"
    assert sorted(path.name for path in folder.iterdir()) == before
    assert not (data_dir / "pgdata-pg16-backup").exists()
    assert not servers_of(folder)


def test_a_folder_from_an_unknown_version_is_refused_clearly(data_dir: Path) -> None:
    (data_dir / "pgdata").mkdir()
    (data_dir / "pgdata" / "PG_VERSION").write_text("19\n")
    with pytest.raises(EmbeddedPostgresUnavailable, match="was made by PostgreSQL 19"):
        start_embedded_postgres(data_dir)


def test_killed_during_start_the_next_start_works(data_dir: Path) -> None:
    """A bot killed while initdb ran leaves a side folder, never half a cluster."""
    (data_dir / "pgdata.initdb").mkdir()
    (data_dir / "pgdata.initdb" / "PG_VERSION").write_text("18\n")
    server = start_embedded_postgres(data_dir)
    assert query(18, server.url, "SELECT 1") == "1"
    server.release()


def test_a_postgresql_16_server_still_in_use_is_not_stopped_for_the_upgrade(
    data_dir: Path,
) -> None:
    """A bot of the old release still runs on the folder: refuse, and touch nothing."""
    folder, sockets = make_postgres16_folder(data_dir)
    client = subprocess.Popen(
        [str(server_binaries(16) / "psql"), "-h", str(sockets), "-U", "postgres", "-c",
         "SELECT pg_sleep(60)"],
        **system_user_options(),
    )  # fmt: skip
    try:
        # (This query's own text ends in a quote, so it does not count itself.)
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)'"
        while query(16, sockets, waiting) == "0":
            time.sleep(0.05)
        with pytest.raises(EmbeddedPostgresUnavailable, match="is in use: stop the bot"):
            start_embedded_postgres(data_dir)
        assert query(16, sockets, "SELECT 1") == "1"
        assert (folder / "PG_VERSION").read_text().strip() == "16"
    finally:
        client.kill()
        client.wait()
        leave_postgres16(folder)


def test_a_postgresql_16_folder_whose_server_was_killed_is_upgraded(data_dir: Path) -> None:
    """A power cut or container restart: PostgreSQL 16 never shut down cleanly, and its
    postmaster.pid is left behind."""
    folder, sockets = make_postgres16_folder(data_dir)
    query(16, sockets, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
    postmaster = psutil.Process(int((folder / "postmaster.pid").read_text().split()[0]))
    postmaster.kill()
    psutil.wait_procs([postmaster], timeout=10)
    leave_postgres16(folder, running=True)

    server = start_embedded_postgres(data_dir)
    try:
        assert query(18, server.url, "SELECT n FROM kept") == "7"
    finally:
        server.release()


def test_an_upgrade_cut_between_its_renames_is_refused_with_the_way_out(data_dir: Path) -> None:
    """Killed after pgdata became the backup and before the new folder took its place."""
    folder, sockets = make_postgres16_folder(data_dir)
    query(16, sockets, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
    leave_postgres16(folder)
    start_embedded_postgres(data_dir).release()  # upgraded
    (data_dir / "pgdata").rename(data_dir / "pgdata.pg18")

    with pytest.raises(EmbeddedPostgresUnavailable) as refused:
        start_embedded_postgres(data_dir)
    message = str(refused.value)
    assert "\n" not in message
    finish = f"mv {data_dir / 'pgdata.pg18'} {data_dir / 'pgdata'}"
    roll_back = f"mv {data_dir / 'pgdata-pg16-backup'} {data_dir / 'pgdata'}"
    assert f"finish it with `{finish}`" in message, message
    assert f"roll it back with `{roll_back}`" in message, message
    assert not (data_dir / "pgdata").exists()

    subprocess.run(finish.split(), check=True)  # as the message says
    server = start_embedded_postgres(data_dir)
    try:
        assert query(18, server.url, "SELECT n FROM kept") == "7"
    finally:
        server.release()


def test_an_upgrade_that_failed_is_never_offered_as_the_way_out(data_dir: Path) -> None:
    """Killed while putting the old folder back: pgdata.pg18 is the upgrade whose server
    did not start (here: a folder no upgrade finished), only the roll back is offered."""
    start_embedded_postgres(data_dir).release()
    (data_dir / "pgdata").rename(data_dir / "pgdata.pg18")
    (data_dir / "pgdata-pg16-backup").mkdir()
    (data_dir / "pgdata-pg16-backup" / "PG_VERSION").write_text("16\n")

    with pytest.raises(EmbeddedPostgresUnavailable) as refused:
        start_embedded_postgres(data_dir)
    message = str(refused.value)
    assert "\n" not in message
    roll_back = f"mv {data_dir / 'pgdata-pg16-backup'} {data_dir / 'pgdata'}"
    assert f"roll it back with `{roll_back}`" in message, message
    assert "finish it" not in message, message
    assert f"{data_dir / 'pgdata.pg18'} is an upgrade that did not finish" in message, message
