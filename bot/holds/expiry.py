"""Ends holds that were not collected in time, and sends the one reminder before.

A loop inside the bot process, started and stopped with the dispatcher, driven by the
database alone: each pass locks a batch of books with holds past their deadline (SKIP
LOCKED, so several bot processes share the work and none waits on another), expires
those holds, passes the copies on to the next readers in line and queues every message,
all in one transaction. Nothing lives in memory: after a crash or a restart the next
pass finds what is due, and a hold that is expired is no longer on hold, so it is
expired once.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.repository import book_view
from bot.holds.line import pass_on_free_copies
from bot.holds.policy import HoldPolicy
from bot.holds.repository import EndedHold, HoldRepository, QueuedMessage
from bot.holds.schemas import SweepReport
from bot.notifications.messages import HeldCopy, OutgoingMessage, ReaderMessages
from bot.notifications.models import NotificationKind

logger = logging.getLogger(__name__)

BOOKS_PER_PASS = 200
REMINDERS_PER_PASS = 1000


class HoldSweeper:
    """One pass over the holds that fell due: what the loop repeats."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: HoldPolicy,
        zone: tzinfo,
        messages: ReaderMessages,
        books_per_pass: int = BOOKS_PER_PASS,
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._zone = zone
        self._messages = messages
        self._books_per_pass = books_per_pass

    async def sweep(self) -> SweepReport:
        """Expire a batch of due holds, passing their copies on; queue due reminders."""
        expired, offered, full = await self._expire_batch()
        reminded = await self._remind()
        return SweepReport(expired, offered, reminded, more=full)

    async def _expire_batch(self) -> tuple[int, int, bool]:
        async with self._sessions.begin() as session:
            holds = HoldRepository(session)
            book_ids = await holds.books_with_due_holds(self._books_per_pass)
            if not book_ids:
                return 0, 0, False
            ended = await holds.expire_due(book_ids)
            await self._queue(
                holds, ended, NotificationKind.HOLD_EXPIRED, self._messages.hold_expired
            )
            books = [book_view(book) for book in await holds.books(book_ids)]
            offered = await pass_on_free_copies(
                holds, books, self._policy, self._zone, self._messages
            )
        return len(ended), len(offered), len(book_ids) == self._books_per_pass

    async def _remind(self) -> int:
        if not self._policy.pickup_reminder:
            return 0
        hours = self._policy.hours
        if hours is not None and not hours.is_open(datetime.now(UTC)):
            return 0  # due reminders wait for the shop to open: the reader can come then
        async with self._sessions.begin() as session:
            holds = HoldRepository(session)
            due = await holds.claim_reminders(self._policy.pickup_reminder, REMINDERS_PER_PASS)
            await self._queue(
                holds, due, NotificationKind.HOLD_REMINDER, self._messages.hold_reminder
            )
        return len(due)

    async def _queue(
        self,
        holds: HoldRepository,
        ended: Sequence[EndedHold],
        kind: NotificationKind,
        render: Callable[[HeldCopy], OutgoingMessage],
    ) -> None:
        """Each hold's message, rendered, into the outbox in this transaction."""
        await holds.queue(
            [
                QueuedMessage(
                    hold.reservation_id,
                    hold.chat_id,
                    kind,
                    render(
                        HeldCopy(
                            hold.reservation_id,
                            hold.title,
                            hold.author,
                            hold.until.astimezone(self._zone),
                            hold.language,
                        )
                    ),
                )
                for hold in ended
            ]
        )


class Sweeper(Protocol):
    async def sweep(self) -> SweepReport: ...


class HoldExpiry:
    """Runs the sweeper (HoldSweeper, or the line's loop that runs it: bot/line/upkeep.py)
    every poll_interval seconds (at once again while work remains),
    and tells on_queued whenever messages went into the outbox."""

    def __init__(
        self,
        sweeper: Sweeper,
        on_queued: Callable[[], None],
        poll_interval: float = 1.0,
    ) -> None:
        self._sweeper = sweeper
        self._on_queued = on_queued
        self._poll_interval = poll_interval
        self._stop_requested = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop_requested.clear()
        self._task = asyncio.create_task(self._run(), name="hold-expiry")

    async def stop(self) -> None:
        """End after the pass under way (its transaction commits or rolls back whole)."""
        self._stop_requested.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stop_requested.is_set():
            more = False
            try:
                report = await self._sweeper.sweep()
                more = report.more
                if report.anything_done:
                    logger.info(
                        "Holds: %d expired, %d passed on, %d reminded; line: %s",
                        report.expired,
                        report.offered,
                        report.reminded,
                        ", ".join(f"{count} {name}" for name, count in report.line.items()),
                    )
                    self._on_queued()
            except Exception:
                # The database away for a moment: what is due stays due for the next pass.
                logger.exception("Hold expiry pass failed; trying again shortly")
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_requested.wait(), self._poll_interval)
