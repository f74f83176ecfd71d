"""Asking Telegram until it accepts: the rule for optional set-up calls (command menus,
the webhook) that the bot runs without meanwhile.

Each request is made once, now. One Telegram refuses for now (unreachable, a 429) is asked
again in the background, after Telegram's retry_after or a wait that doubles from one
second up to five minutes; one it refuses for good (a 400, a 403, a bad token) is not asked
again, since asking again gets the same answer. The request says what each outcome means
for it (its own log lines).
"""

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.delivery.telegram_errors import retry_after_seconds

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 300.0


class Request(Protocol):
    """One call to make until Telegram accepts it, and what to say of each outcome."""

    async def send(self) -> None: ...

    def accepted(self) -> None: ...

    def refused(self, reason: str) -> None:
        """Telegram refused for good: it won't be asked again."""

    def postponed(self, reason: str, wait: float) -> None:
        """Telegram refused for now: asked again in `wait` seconds."""


class UntilAccepted:
    """Makes requests now and retries those refused for now in one background task."""

    def __init__(self, task_name: str) -> None:
        self._task_name = task_name
        self._task: asyncio.Task[None] | None = None

    async def ask(self, requests: Sequence[Request]) -> None:
        """Make each request now, in order; retry those refused for now in the background."""
        pending = []
        for request in requests:
            wait = await attempt(request, FIRST_RETRY_SECONDS)
            if wait is not None:
                pending.append((request, wait))
        if pending:
            self._task = asyncio.create_task(self._retry(pending), name=self._task_name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _retry(self, pending: list[tuple[Request, float]]) -> None:
        while pending:
            await asyncio.sleep(min(wait for _, wait in pending))
            still = []
            for request, wait in pending:
                next_wait = await attempt(request, min(2 * wait, MAX_RETRY_SECONDS))
                if next_wait is not None:
                    still.append((request, next_wait))
            pending = still


async def attempt(request: Request, backoff: float) -> float | None:
    """Seconds to wait before the next attempt, or None when there is none to make."""
    try:
        await request.send()
    except RetryAfter as error:
        wait, reason = retry_after_seconds(error), error.message
    except (BadRequest, Forbidden, InvalidToken) as error:
        request.refused(error.message)
        return None
    except TelegramError as error:
        wait, reason = backoff, error.message
    else:
        request.accepted()
        return None
    request.postponed(reason, wait)
    return wait
