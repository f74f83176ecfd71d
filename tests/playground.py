"""The playground, started in the test's event loop on a database of its own."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.playground.runner import Playground, listening_socket, running_playground
from tests.conftest import temporary_database


@asynccontextmanager
async def playground_on(server_url: str) -> AsyncIterator[Playground]:
    """A playground on a free local port, its sample catalog loaded, until the block ends."""
    async with temporary_database(server_url) as url:
        sock = listening_socket("127.0.0.1", 0, allow_remote=False)
        try:
            async with running_playground(url, sock) as playground:
                yield playground
        finally:
            sock.close()
