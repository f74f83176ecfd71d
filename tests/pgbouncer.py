"""A real PgBouncer in transaction mode, in front of the test server, for as long as a test
needs it: what hosted PostgreSQL and many shops put before their database."""

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy.engine import make_url

from bot.database_url import parse_database_url

# Debian puts it in /usr/sbin, which a user's PATH may lack.
PLACES = ("/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer")


def pgbouncer_path() -> str:
    """Debian's pgbouncer; its absence fails the test, saying what to install."""
    found = shutil.which("pgbouncer") or next((p for p in PLACES if Path(p).exists()), None)
    assert found, (
        "PgBouncer is missing: the PgBouncer tests need Debian's pgbouncer package "
        "(apt-get install -y pgbouncer; python3 dev.py test installs it when run as root)"
    )
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_pgbouncer(database_url: str) -> Iterator[str]:
    """PgBouncer (pool_mode=transaction) in front of database_url's server; the URL that
    reaches the same database through it."""
    program = pgbouncer_path()
    target = parse_database_url(database_url)
    url = target.url
    host = target.libpq_options.get("host") or url.host or "127.0.0.1"
    server = f"host={host} port={url.port or 5432} user={url.username or 'postgres'}"
    if url.password:
        server += f" password={url.password}"
    port = free_port()
    with TemporaryDirectory(prefix="bookstore-pgbouncer-") as folder:
        config = Path(folder) / "pgbouncer.ini"
        # Read before PgBouncer drops root, so the folder may stay private.
        config.write_text(
            "[databases]\n"
            f"* = {server}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            # Any client name logs in as the server's user: no users file to keep.
            "auth_type = any\n"
            "pool_mode = transaction\n"
            "default_pool_size = 4\nmax_client_conn = 200\n"
        )
        # It refuses to run as root: then as the user who owns the server's socket folder
        # (the embedded server's), else as nobody.
        as_user = []
        if os.geteuid() == 0:
            owner = Path(host).stat().st_uid if host.startswith("/") else None
            as_user = ["-u", pwd.getpwuid(owner).pw_name if owner else "nobody"]
        # Its log goes to a file: a pipe nobody reads would fill up and stop it.
        log = Path(folder) / "pgbouncer.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [program, *as_user, str(config)], stdout=output, stderr=subprocess.STDOUT
            )
        try:
            wait_until_listening(process, port, log)
            yield (
                make_url(database_url)
                .set(host="127.0.0.1", port=port, query={})
                .render_as_string(hide_password=False)
            )
        finally:
            process.terminate()
            process.wait(timeout=10)


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"PgBouncer did not start: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("PgBouncer did not listen within 10 s")
