"""Handling updates concurrently across readers, one at a time for each reader.

PTB handles one update at a time by default, so a burst of presses queues behind every
paced reply, and one reader stuck on the database or in a 429 pause holds up everyone.
Here each reader (keyed by user, or by chat when there is no user) has their updates
handled in arrival order, while different readers' updates run side by side.
"""

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Handlers running at once, over all readers. In a burst most of them only wait for their
# paced reply (29 a second), so this must be well above a burst's size, or later presses
# would wait for earlier replies before their spinner stops. It bounds memory; the
# database pool bounds the queries.
MAX_RUNNING_HANDLERS = 1024
# Updates taken in at once, running or waiting for their reader's earlier ones. Each
# reader's order is fixed as they come in, before they wait for a running slot, so one
# reader's backlog never takes the slots of others.
MAX_TAKEN_IN = 8 * MAX_RUNNING_HANDLERS


class PerReaderUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_running: int = MAX_RUNNING_HANDLERS) -> None:
        super().__init__(max_concurrent_updates=max(MAX_TAKEN_IN, max_running))
        self._running = asyncio.BoundedSemaphore(max_running)
        # A reader's lock and how many of their updates hold or await it.
        self._readers: dict[int, tuple[asyncio.Lock, int]] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = reader_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        # Lock in arrival order: PTB starts one task per update in queue order, and
        # nothing before this line yields. asyncio.Lock wakes its waiters first come,
        # first served.
        lock, holders = self._readers.get(key, (asyncio.Lock(), 0))
        self._readers[key] = (lock, holders + 1)
        try:
            async with lock, self._running:
                await coroutine
        finally:
            lock, holders = self._readers[key]
            if holders == 1:
                del self._readers[key]
            else:
                self._readers[key] = (lock, holders - 1)


def reader_key(update: object) -> int | None:
    """Whose updates must stay in order: the user's, else the chat's; None for neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None
