"""A real PostgreSQL started from the pgserver package, for machines without one."""

import logging
from pathlib import Path
from typing import Any

from pgserver.postgres_server import get_server

logger = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or join) the server keeping its data under data_dir; return its URL and handle.

    The server stops when the last handle is dropped, so keep the handle alive.
    """
    folder = data_dir / "pgdata"
    folder.mkdir(parents=True, exist_ok=True)
    server = get_server(folder, cleanup_mode="stop")
    logger.info("Using the embedded PostgreSQL in %s", folder)
    return str(server.get_uri()), server
