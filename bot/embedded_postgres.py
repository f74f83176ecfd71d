"""A real PostgreSQL started from the pgserver package, for machines without one."""

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class EmbeddedPostgresUnavailable(Exception):
    """pgserver is not installed (it has no build for this Python)."""


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or join) the server keeping its data under data_dir; return its URL and handle.

    The server stops when the last handle is dropped, so keep the handle alive.
    """
    try:
        with warnings.catch_warnings():
            # pgserver warns at import time when XDG_RUNTIME_DIR is unset, as on servers.
            warnings.simplefilter("ignore")
            # Imported here: pgserver is optional (CPython 3.11 and 3.12 only).
            from pgserver.postgres_server import get_server
    except ImportError:
        raise EmbeddedPostgresUnavailable(
            "no DATABASE_URL is set and the embedded PostgreSQL (pgserver) is not installed; "
            "it exists for Python 3.11 and 3.12: set DATABASE_URL or use one of those"
        ) from None
    folder = data_dir / "pgdata"
    folder.mkdir(parents=True, exist_ok=True)
    server = get_server(folder, cleanup_mode="stop")
    logger.info("Using the embedded PostgreSQL in %s", folder)
    return str(server.get_uri()), server
