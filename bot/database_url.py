"""DATABASE_URL as hosts hand it out, with libpq's options, made into asyncpg's arguments.

SQLAlchemy would pass a URL's query to asyncpg as keyword arguments, which asyncpg does not
take (`connect_timeout`, `sslrootcert`, …). asyncpg reads libpq's TLS and session options
from a DSN itself, with libpq's meaning, so they go to it that way; the rest is translated
or refused when the settings load.
"""

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
from sqlalchemy.engine import URL, make_url

# A reader waits this long at most for a database that doesn't answer, then hears
# "temporarily unavailable" instead of a hang; a URL's connect_timeout overrides it.
CONNECT_TIMEOUT_SECONDS = 5.0

# libpq options asyncpg reads from a DSN itself, with libpq's meaning.
READ_BY_ASYNCPG = frozenset(
    {
        "host",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "service",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslcrl",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
    }
)
# Sent to the server at start-up, as libpq sends them.
STARTUP_PARAMETERS = frozenset({"application_name", "options"})
TRANSLATED = frozenset(
    {
        "connect_timeout",
        "fallback_application_name",
        # asyncpg's and SQLAlchemy's spelling of sslmode
        "ssl",
        # asyncpg authenticates with SCRAM but without channel binding; hosts such as Neon
        # put it in every URL, and TLS with sslmode=verify-full is what guards the server.
        "channel_binding",
    }
)
SUPPORTED = READ_BY_ASYNCPG | STARTUP_PARAMETERS | TRANSLATED

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SESSION_ATTRIBUTES = ("any", "primary", "standby", "prefer-standby", "read-write", "read-only")
FILES = ("sslrootcert", "sslcert", "sslkey", "sslcrl")
# libpq waits at least this long when connect_timeout is set.
MIN_CONNECT_TIMEOUT = 2.0


@dataclass(frozen=True)
class AsyncpgTarget:
    """Where and how to connect: the URL for SQLAlchemy, and what asyncpg.connect gets."""

    url: URL
    libpq_options: dict[str, str]
    server_settings: dict[str, str]
    # None: libpq's connect_timeout=0, wait as long as it takes
    timeout: float | None = CONNECT_TIMEOUT_SECONDS
    ssl_context: ssl.SSLContext | None = None

    async def connect(self) -> asyncpg.Connection:
        # Arguments win over the DSN's options, so the URL's own host and user come first.
        dsn = "postgresql://?" + urlencode(self.libpq_options) if self.libpq_options else None
        return await asyncpg.connect(
            dsn,
            host=self.url.host,
            port=self.url.port,
            user=self.url.username,
            password=self.url.password,
            database=self.url.database,
            timeout=self.timeout,
            ssl=self.ssl_context,
            server_settings=self.server_settings or None,
            # No named prepared statements, so the bot works behind PgBouncer in
            # transaction mode, where each transaction may run on another server
            # connection: asyncpg then prepares unnamed statements and parses each again
            # in the same round trip that runs it (its answer to PgBouncer). SQLAlchemy
            # still caches them per connection, so a statement costs one round trip, as
            # before. Unique names (SQLAlchemy's recipe) would not do: a statement
            # prepared outside a transaction (AUTOCOMMIT) runs on whichever connection
            # PgBouncer picks next, and named ones pile up on the server's connections.
            statement_cache_size=0,
        )


def parse_database_url(url: str) -> AsyncpgTarget:
    """The URL checked and taken apart; ValueError naming the option, never a password."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql:// URL")
    query = {key: _last(value) for key, value in parsed.query.items()}
    for option in query:
        if option not in SUPPORTED:
            raise ValueError(
                f"unsupported option {option!r} (supported: {', '.join(sorted(SUPPORTED))})"
            )
    if "ssl" in query:
        query.setdefault("sslmode", query.pop("ssl"))
    libpq_options = {key: value for key, value in query.items() if key in READ_BY_ASYNCPG}
    server_settings = {key: value for key, value in query.items() if key in STARTUP_PARAMETERS}
    if "fallback_application_name" in query:
        server_settings.setdefault("application_name", query["fallback_application_name"])
    _check_choice(libpq_options, "sslmode", SSL_MODES)
    _check_choice(libpq_options, "target_session_attrs", SESSION_ATTRIBUTES)
    ssl_context = _system_trust(libpq_options)
    for option in FILES:
        if option in libpq_options and not Path(libpq_options[option]).expanduser().is_file():
            raise ValueError(f"{option} file {libpq_options[option]} does not exist")
    return AsyncpgTarget(
        parsed.set(drivername="postgresql+asyncpg", query={}),
        libpq_options,
        server_settings,
        _connect_timeout(query.get("connect_timeout")),
        ssl_context,
    )


def _last(value: str | tuple[str, ...]) -> str:
    """A repeated option counts with its last value, as in libpq."""
    return value if isinstance(value, str) else value[-1]


def _check_choice(options: dict[str, str], option: str, choices: tuple[str, ...]) -> None:
    if option in options and options[option] not in choices:
        raise ValueError(f"{option} must be one of {', '.join(choices)}")


def _connect_timeout(value: str | None) -> float | None:
    if value is None:
        return CONNECT_TIMEOUT_SECONDS
    try:
        seconds = int(value)
    except ValueError:
        raise ValueError("connect_timeout must be a whole number of seconds") from None
    return None if seconds <= 0 else max(float(seconds), MIN_CONNECT_TIMEOUT)


def _system_trust(options: dict[str, str]) -> ssl.SSLContext | None:
    """libpq 16's sslrootcert=system: the system's trusted CAs and a verified host name."""
    if options.get("sslrootcert") != "system":
        return None
    if options.get("sslmode", "verify-full") != "verify-full":
        raise ValueError("sslrootcert=system needs sslmode=verify-full")
    del options["sslrootcert"]
    options.pop("sslmode", None)
    return ssl.create_default_context()
