"""The cap on sends under way at once: each send is a task of its own, started only once
it has a place, which it gives back when it ends, however it ends."""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class SendsInFlight:
    def __init__(self, limit: int) -> None:
        self._places = asyncio.Semaphore(limit)
        self.tasks: set[asyncio.Task[None]] = set()

    async def take_place(self) -> bool:
        """Wait for a place (always True once it comes); start() or give_back_place() next."""
        return await self._places.acquire()

    def give_back_place(self) -> None:
        """A place taken for a send that won't start after all."""
        self._places.release()

    def start(self, sending: Coroutine[Any, Any, None]) -> None:
        """Run a send in the place taken for it."""
        task = asyncio.create_task(sending)
        self.tasks.add(task)
        task.add_done_callback(self._ended)

    async def finish(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self._places.release()
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("Sending a notification failed unexpectedly", exc_info=error)
