"""Handling updates concurrently across readers, one at a time for each reader.

PTB handles one update at a time by default, so a burst of presses queues behind every
paced reply, and one reader stuck on the database or in a 429 pause holds up everyone.
Here each reader (keyed by user, or by chat when there is no user) has their updates
handled in arrival order, while different readers' updates run side by side, up to a
bound. A button press that has to wait for its turn gets its spinner stopped at once, and
so do the presses running then: a burst is on, and their outcome would come too late.

A spinner's answer, or a refusal's alert, is waited for briefly (so its toast comes
before the outcome's message), then goes on in the background: a Telegram that stalls on
answers (up to a press's life, 15 s) holds neither the reader's turn nor a running slot.
Each press is answered once, so a later answer can't race it; its update ends when the
answer is done, so the Application's stop waits for it while the bot can still send.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot.telegram.callback_answers import answer_while_young

logger = logging.getLogger(__name__)

# Handlers running at once, over all readers. Each holds a database connection for a
# while, so this is about the pool's size (5 + 10 overflow): a burst then waits here, in
# order and without a timeout, not for a connection (10 s pool timeout, then "temporarily
# unavailable"). Replies are paced at 29 a second anyway, and 16 handlers waiting for a
# slot keep the pacer busy; presses that wait get their spinner stopped at once.
MAX_RUNNING_HANDLERS = 16
# Updates taken in at once, running or waiting for their turn. Each reader's order is
# fixed as they come in, before they wait for a running slot, so one reader's backlog
# never takes the slots of others.
MAX_TAKEN_IN = 16_384
# How long a handler waits for Telegram to take its spinner's answer (it usually does in
# a tenth of a second) before it goes on with the answer still under way.
ANSWER_WAIT_SECONDS = 0.25


class PerReaderUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_running: int = MAX_RUNNING_HANDLERS) -> None:
        super().__init__(max_concurrent_updates=max(MAX_TAKEN_IN, max_running))
        self._running = asyncio.BoundedSemaphore(max_running)
        # A reader's lock and how many of their updates hold or await it.
        self._readers: dict[int | None, tuple[asyncio.Lock, int]] = {}
        # Answers under way, by press; and the presses answered (or being answered).
        self._answers: dict[str, set[asyncio.Task[None]]] = {}
        self._answered: set[str] = set()
        # Presses being handled whose spinner still turns.
        self._spinning: dict[str, CallbackQuery] = {}
        # When each press being handled came in (time.monotonic()): its answer's deadline.
        self._pressed_at: dict[str, float] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def claim_answer(self, query_id: str) -> bool:
        """Whether the caller is to stop this query's spinner: True once, and never after
        the processor stopped it early (Telegram takes one answer)."""
        if query_id in self._answered:
            return False
        self._answered.add(query_id)
        self._spinning.pop(query_id, None)
        return True

    async def stop_spinner(self, query: CallbackQuery, text: str | None = None) -> None:
        """Answer the press, unless it is answered already; return once Telegram took
        the answer, or at ANSWER_WAIT_SECONDS with the answer going on in the background."""
        if self.claim_answer(query.id):
            await self.answer_in_background(query.id, self._answer(query, text))

    async def answer_in_background(self, query_id: str, answer: Coroutine[Any, Any, None]) -> None:
        """Give a claimed press its answer (which handles Telegram's errors itself); return
        once it is done, or at ANSWER_WAIT_SECONDS with it going on in the background."""
        await asyncio.wait({self._in_background(query_id, answer)}, timeout=ANSWER_WAIT_SECONDS)

    def pressed_at(self, query_id: str) -> float:
        """When the press came in (time.monotonic()); now for one it isn't handling."""
        return self._pressed_at.get(query_id, time.monotonic())

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        query = update.callback_query if isinstance(update, Update) else None
        try:
            await self.handle_in_turn(update, coroutine)
        finally:
            if query is not None:
                try:
                    await self._answers_done(query.id)
                finally:
                    self._answered.discard(query.id)
                    self._pressed_at.pop(query.id, None)

    async def _answers_done(self, query_id: str) -> None:
        """Its turn and running slot are free: only the update waits for the answers. A
        failure in one (a reply PTB can't read) is logged: the handler's work is done."""
        while answers := self._answers.pop(query_id, None):
            for failure in await asyncio.gather(*answers, return_exceptions=True):
                if isinstance(failure, Exception):
                    logger.error("Callback query answer failed", exc_info=failure)

    async def handle_in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        """The update handled in its reader's turn and a running slot."""
        key = reader_key(update)
        # Nothing before the lock is taken yields, and PTB starts one task per update
        # in queue order, so each reader's updates line up in arrival order
        # (asyncio.Lock wakes its waiters first come, first served).
        lock, holders = self._readers.get(key, (asyncio.Lock(), 0))
        self._readers[key] = (lock, holders + 1)
        query = update.callback_query if isinstance(update, Update) else None
        if query is not None:
            self._pressed_at[query.id] = time.monotonic()
        try:
            if query is not None and (lock.locked() or self._running.locked()):
                self._answer_early(query)
                # A burst: the presses running now would have their outcome in their
                # toast by the deadline, or else their answer queued behind this one.
                for running in list(self._spinning.values()):
                    self._answer_early(running)
            async with lock, self._running:
                if query is not None and query.id not in self._answered:
                    self._spinning[query.id] = query
                await coroutine
        finally:
            lock, holders = self._readers[key]
            if holders == 1:
                del self._readers[key]
            else:
                self._readers[key] = (lock, holders - 1)
            if query is not None:
                self._spinning.pop(query.id, None)

    def _answer_early(self, query: CallbackQuery) -> None:
        if self.claim_answer(query.id):
            self._in_background(query.id, self._answer(query, None, early=True))

    def _in_background(
        self, query_id: str, answer: Coroutine[Any, Any, None]
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(answer)
        self._answers.setdefault(query_id, set()).add(task)
        return task

    async def _answer(self, query: CallbackQuery, text: str | None, early: bool = False) -> None:
        try:
            await answer_while_young(query, self.pressed_at(query.id), text)
        except TelegramError as error:
            if early:
                # The handler answers, then, unless it has started already.
                self._answered.discard(query.id)
            logger.info("Callback query not answered: %s", error.message)


async def stop_spinner(
    processor: BaseUpdateProcessor, query: CallbackQuery, text: str | None = None
) -> None:
    """Stop the press's spinner (with a toast, if text), unless it was stopped already;
    the bot's own processor finishes a slow answer in the background."""
    if isinstance(processor, PerReaderUpdateProcessor):
        await processor.stop_spinner(query, text)
        return
    try:
        await answer_while_young(query, time.monotonic(), text)
    except TelegramError as error:
        logger.info("Callback query not answered: %s", error.message)


async def answer_in_background(
    processor: BaseUpdateProcessor, query_id: str, answer: Coroutine[Any, Any, None]
) -> None:
    """Give a claimed press its answer; the bot's own processor finishes a slow one in
    the background, out of the reader's turn and the running slot."""
    if isinstance(processor, PerReaderUpdateProcessor):
        await processor.answer_in_background(query_id, answer)
    else:
        await answer


def claim_answer(processor: BaseUpdateProcessor, query_id: str) -> bool:
    """Whether the caller is to answer the press: not when its spinner was stopped."""
    if isinstance(processor, PerReaderUpdateProcessor):
        return processor.claim_answer(query_id)
    return True


def pressed_at(processor: BaseUpdateProcessor, query_id: str) -> float:
    """When the press came in, as far as the application's processor knows; else now."""
    if isinstance(processor, PerReaderUpdateProcessor):
        return processor.pressed_at(query_id)
    return time.monotonic()


def reader_key(update: object) -> int | None:
    """Whose updates must stay in order: the user's, else the chat's; None (all such
    updates in one line) for neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None
