"""DATABASE_URL for PostgreSQL's own programs (pg_dump, psql), without a word of it in
their arguments.

Any local user can read a process's arguments (`ps`, /proc/PID/cmdline), while its
environment is its owner's alone. So no `--dbname`: each connection option goes in libpq's
environment variable for it, and the one option libpq reads from no variable
(`sslpassword`) in a service file readable by its owner only, in a folder of its own
(mode 0700), for as long as the programs run: removed when they end, fail, or SIGTERM or
Ctrl+C stops them; only a SIGKILL of the bot leaves it in the temporary folder.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

# Each option bot.database_url accepts, and the variable libpq reads it from.
VARIABLES = {
    "host": "PGHOST",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "krbsrvname": "PGKRBSRVNAME",
    "gsslib": "PGGSSLIB",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "channel_binding": "PGCHANNELBINDING",
}
IN_A_SERVICE_FILE = frozenset({"sslpassword"})
# sslmode values that refuse a connection without TLS.
TLS_ONLY = frozenset({"require", "verify-ca", "verify-full"})
SERVICE = "bookstore-bot"


class ConnectionOptionsError(Exception):
    """Options the programs cannot be given this way; the message names them, no value."""


def connection_options(database_url: str) -> dict[str, str]:
    """libpq's options, as libpq reads a URL: the query's options win over the rest."""
    parts = urlsplit(database_url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    user, _, password = credentials.partition(":")
    options = {"user": unquote(user), "password": unquote(password)}
    names, ports = zip(*(split_host(host) for host in hosts.split(",")), strict=True)
    if any(names):
        options["host"] = ",".join(names)
    if any(ports):
        options["port"] = ",".join(ports)
    options["dbname"] = unquote(parts.path.removeprefix("/"))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        # asyncpg's spelling of sslmode, which libpq doesn't know: sslmode wins over it,
        # as in bot/database_url.py, so the programs and the bot connect alike.
        if key == "ssl":
            options.setdefault("sslmode", value)
        else:
            options[key] = value
    # The programs name themselves when the URL names no application.
    options.pop("fallback_application_name", None)
    return {key: value for key, value in options.items() if value}


def requires_tls(database_url: str) -> bool:
    """Whether the URL refuses an unencrypted connection (sslrootcert=system implies
    verify-full, as in libpq 16)."""
    options = connection_options(database_url)
    return options.get("sslmode") in TLS_ONLY or options.get("sslrootcert") == "system"


def split_host(host: str) -> tuple[str, str]:
    """`name:port`, `[::1]:port` or a %-encoded socket folder: the name and the port."""
    if host.startswith("["):
        name, _, port = host[1:].partition("]")
        return unquote(name), port.removeprefix(":")  # a zone: [fe80::1%25eth0]
    name, _, port = host.partition(":")
    return unquote(name), port


@contextmanager
def libpq_environment(database_url: str) -> Iterator[dict[str, str]]:
    """The environment for the programs while the block runs (with English messages, which
    are parsed and shown)."""
    options = connection_options(database_url)
    unknown = set(options) - set(VARIABLES) - IN_A_SERVICE_FILE
    if unknown:
        raise ConnectionOptionsError(f"unsupported options: {', '.join(sorted(unknown))}")
    environment = {**os.environ, "LC_MESSAGES": "C"}
    environment |= {VARIABLES[key]: value for key, value in options.items() if key in VARIABLES}
    in_file = {key: value for key, value in options.items() if key in IN_A_SERVICE_FILE}
    if not in_file:
        yield environment
        return
    if "service" in options:
        raise ConnectionOptionsError(
            f"{', '.join(sorted(in_file))} and service cannot be used together here: "
            "put them in the service's file"
        )
    if any("\n" in value or "\r" in value for value in in_file.values()):
        raise ConnectionOptionsError(f"{', '.join(sorted(in_file))} holds a line break")
    with tempfile.TemporaryDirectory(prefix="bookstore-bot-") as folder:
        services = Path(folder) / "pg_service.conf"
        lines = [f"[{SERVICE}]", *(f"{key}={value}" for key, value in in_file.items())]
        descriptor = os.open(services, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "w") as file:
            file.write("\n".join(lines) + "\n")
        yield environment | {"PGSERVICEFILE": str(services), "PGSERVICE": SERVICE}
