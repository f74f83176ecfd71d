"""`bookstore-bot playground`: the bot and a web chat on this machine, until Ctrl+C."""

import asyncio
import contextlib
import logging
import socket
import time

from bot.config import Settings
from bot.playground.runner import listening_socket, page_url, running_playground
from bot.postgres.embedded import start_embedded_postgres
from bot.services import Shop
from bot.telegram.lifecycle import stop_on_signals

logger = logging.getLogger("bot")

# Inside DATA_DIR, beside (never in) the shop's own pgdata.
PLAYGROUND_FOLDER = "playground"


def no_token_line(host: str, port: int) -> str:
    return (
        f"No BOT_TOKEN: starting the playground at http://{host}:{port}; "
        "set BOT_TOKEN to run the real bot"
    )


def serve(settings: Settings, host: str, port: int, allow_remote: bool) -> None:
    """Run the playground on its own embedded database until Ctrl+C or SIGTERM."""
    began = time.monotonic()
    sock = listening_socket(host, port, allow_remote)
    # Ctrl+C while the database starts: stop quietly, the database released all the same.
    with contextlib.suppress(KeyboardInterrupt):
        try:
            server = start_embedded_postgres(settings.data_dir / PLAYGROUND_FOLDER)
            try:
                asyncio.run(_until_stopped(server.url, sock, host, settings, began))
            finally:
                server.release()
        finally:
            sock.close()


async def _until_stopped(
    database_url: str, sock: socket.socket, host: str, settings: Settings, began: float
) -> None:
    stop = stop_on_signals()
    async with running_playground(
        database_url,
        sock,
        Shop.from_settings(settings),
        settings.messages_per_second,
        stop,
        host=host,
    ):
        logger.info(
            "Playground ready at %s (started in %.1f s); Ctrl+C stops it",
            page_url(sock),
            time.monotonic() - began,
        )
        await stop.wait()
        logger.info("Stopping the playground")
