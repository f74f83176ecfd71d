"""sslmode and sslrootcert with libpq's meaning, through a TLS front for the test server.

The test server speaks no TLS, so a small proxy answers PostgreSQL's SSLRequest, completes
the TLS handshake with a certificate made for the test, and passes the bytes on to the real
server: the bot's connection is verified (or refused) exactly as it would be by a host's.
"""

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.database import create_engine
from tests.conftest import temporary_database
from tests.db import open_server_connection
from tests.test_command_line import bookstore_bot

# PostgreSQL's SSLRequest: length 8, code 1234.5679.
SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


@dataclass(frozen=True)
class Certificates:
    ca: Path
    other_ca: Path
    client_certificate: Path
    client_key: Path
    server_context: ssl.SSLContext
    # the same, asking the client for a certificate signed by the CA
    client_checking_context: ssl.SSLContext


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA, a server certificate it signed for the name localhost only, a client
    certificate it signed, and another CA (trustme: test certificates without openssl)."""
    folder = tmp_path_factory.mktemp("tls")
    ca, other_ca = trustme.CA(), trustme.CA()
    server = ca.issue_cert("localhost")
    client = ca.issue_cert(common_name="postgres")
    ca.cert_pem.write_to_path(str(folder / "ca.crt"))
    other_ca.cert_pem.write_to_path(str(folder / "other-ca.crt"))
    client.cert_chain_pems[0].write_to_path(str(folder / "client.crt"))
    client.private_key_pem.write_to_path(str(folder / "client.key"))
    contexts = []
    for checks_client in (False, True):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.configure_cert(context)
        if checks_client:
            ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        contexts.append(context)
    return Certificates(
        folder / "ca.crt",
        folder / "other-ca.crt",
        folder / "client.crt",
        folder / "client.key",
        *contexts,
    )


@dataclass
class TlsFront:
    port: int
    context: ssl.SSLContext
    # "tls" or "plain", one per connection the bot made
    connections: list[str] = field(default_factory=list)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def front(
    server_url: str, certificates: Certificates, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[TlsFront]:
    # No ~/.postgresql/root.crt or PGSSL* variable may decide for the test.
    monkeypatch.setenv("HOME", str(tmp_path))
    for variable in ("PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"):
        monkeypatch.delenv(variable, raising=False)
    state = TlsFront(0, certificates.server_context)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.readexactly(8)
        if first == SSL_REQUEST:
            writer.write(b"S")
            await writer.drain()
            try:
                await writer.start_tls(state.context)
            except (ConnectionError, ssl.SSLError):
                writer.close()  # the client refused our certificate
                return
            state.connections.append("tls")
            first = b""
        else:
            state.connections.append("plain")
        server_reader, server_writer = await open_server_connection(server_url)
        server_writer.write(first)
        await asyncio.gather(pipe(reader, server_writer), pipe(server_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    yield state
    server.close()


def through(front: TlsFront, server_url: str, host: str, **options: str) -> str:
    url = make_url(server_url).set(drivername="postgresql", host=host, port=front.port)
    # The embedded server's URL names its socket's folder in host=: the front is the host.
    url = url.difference_update_query(["host"])
    return url.update_query_dict(options).render_as_string(hide_password=False)


async def connects(url: str) -> bool:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return bool(await connection.scalar(text("SELECT 1")))
    except ssl.SSLCertVerificationError:
        return False
    except DBAPIError as error:
        # A server refusing the client's certificate hangs up after the handshake.
        assert "connection was closed" in str(error)  # noqa: PT017
        return False
    finally:
        await engine.dispose()


async def test_verify_full_checks_the_ca_and_the_host_name(
    front: TlsFront, server_url: str, certificates: Certificates
) -> None:
    ca, other = str(certificates.ca), str(certificates.other_ca)
    assert await connects(
        through(front, server_url, "localhost", sslmode="verify-full", sslrootcert=ca)
    )
    # The certificate names localhost, not 127.0.0.1.
    assert not await connects(
        through(front, server_url, "127.0.0.1", sslmode="verify-full", sslrootcert=ca)
    )
    assert not await connects(
        through(front, server_url, "localhost", sslmode="verify-full", sslrootcert=other)
    )
    assert front.connections == ["tls"]


async def test_verify_ca_checks_the_ca_only(
    front: TlsFront, server_url: str, certificates: Certificates
) -> None:
    ca, other = str(certificates.ca), str(certificates.other_ca)
    assert await connects(
        through(front, server_url, "127.0.0.1", sslmode="verify-ca", sslrootcert=ca)
    )
    assert not await connects(
        through(front, server_url, "127.0.0.1", sslmode="verify-ca", sslrootcert=other)
    )
    assert front.connections == ["tls"]


async def test_require_encrypts_and_verifies_only_with_a_root_certificate(
    front: TlsFront, server_url: str, certificates: Certificates
) -> None:
    assert await connects(through(front, server_url, "127.0.0.1", sslmode="require"))
    # As in libpq: require with a root certificate file verifies like verify-ca.
    assert not await connects(
        through(
            front,
            server_url,
            "127.0.0.1",
            sslmode="require",
            sslrootcert=str(certificates.other_ca),
        )
    )
    assert front.connections == ["tls"]


async def test_prefer_encrypts_and_disable_does_not(front: TlsFront, server_url: str) -> None:
    assert await connects(through(front, server_url, "127.0.0.1", sslmode="prefer"))
    assert await connects(through(front, server_url, "127.0.0.1", sslmode="disable"))
    assert front.connections == ["tls", "plain"]


async def test_client_certificate_and_key(
    front: TlsFront, server_url: str, certificates: Certificates
) -> None:
    front.context = certificates.client_checking_context
    ca = str(certificates.ca)
    client = {"sslcert": str(certificates.client_certificate)}
    client["sslkey"] = str(certificates.client_key)
    assert await connects(
        through(front, server_url, "localhost", sslmode="verify-full", sslrootcert=ca, **client)
    )
    assert not await connects(
        through(front, server_url, "localhost", sslmode="verify-full", sslrootcert=ca)
    )
    assert front.connections == ["tls"]


async def test_system_root_certificates_do_not_trust_a_private_ca(
    front: TlsFront, server_url: str
) -> None:
    assert not await connects(through(front, server_url, "localhost", sslrootcert="system"))
    assert front.connections == []


async def server_major(server_url: str) -> int:
    engine = create_engine(server_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SHOW server_version_num")) or 0) // 10000
    finally:
        await engine.dispose()


def path_pg_dump_major() -> int:
    """pg_dump --version: `pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`."""
    pg_dump = shutil.which("pg_dump")
    assert pg_dump is not None
    words = subprocess.run([pg_dump, "--version"], capture_output=True, text=True, check=True)
    return int(words.stdout.split()[2].split(".")[0])


@pytest.mark.skipif(
    not (shutil.which("pg_dump") and shutil.which("psql")),
    reason="the wheel's programs are built without TLS: needs PostgreSQL's client programs",
)
async def test_backup_and_restore_over_tls_with_a_client_key_behind_a_password(
    front: TlsFront, server_url: str, certificates: Certificates, tmp_path: Path
) -> None:
    """pg_dump and psql read the URL's TLS options as libpq does, the key's password
    included (given to them outside their arguments: bot/postgres/libpq.py)."""
    if await server_major(server_url) > path_pg_dump_major():
        pytest.skip("the PATH's pg_dump is older than the test server: it can't dump it")
    front.context = certificates.client_checking_context
    key = serialization.load_pem_private_key(certificates.client_key.read_bytes(), None)
    locked_key = tmp_path / "locked.key"
    locked_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"open sesame"),
        )
    )
    locked_key.chmod(0o600)  # libpq refuses a key others may read

    def url(database: str, key_password: str) -> str:
        return through(
            front,
            database,
            "localhost",
            sslmode="verify-full",
            sslrootcert=str(certificates.ca),
            sslcert=str(certificates.client_certificate),
            sslkey=str(locked_key),
            sslpassword=key_password,
        )

    async with temporary_database(server_url) as source, temporary_database(server_url) as target:
        refused = await bookstore_bot(
            tmp_path, "backup", "shop.dump", DATABASE_URL=url(source, "guess")
        )
        assert refused.returncode == 2
        assert refused.stderr.startswith("bookstore-bot: error: pg_dump failed: ")
        assert "guess" not in refused.stderr
        assert front.connections == []
        made = await bookstore_bot(
            tmp_path, "backup", "shop.dump", DATABASE_URL=url(source, "open sesame")
        )
        assert made.returncode == 0, made.stderr
        restored = await bookstore_bot(
            tmp_path, "restore", "shop.dump", DATABASE_URL=url(target, "open sesame")
        )
        assert restored.returncode == 0, restored.stderr
    # pg_dump's, then the restore's: its look at the target, psql's, the migration's.
    assert set(front.connections) == {"tls"}
    assert len(front.connections) >= 3
