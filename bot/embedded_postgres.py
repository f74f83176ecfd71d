"""A real PostgreSQL started from the pgserver package, for machines without one."""

import logging
import warnings
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # pgserver warns at import time when XDG_RUNTIME_DIR is unset, as on servers.
    warnings.simplefilter("ignore")
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
