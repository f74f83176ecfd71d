"""The SQL of holds: the line of a book, copies set aside, and holds falling due."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import Book
from bot.holds.policy import OutgoingMessage
from bot.holds.schemas import HoldEntry
from bot.notifications.models import Notification, NotificationKind
from bot.reservations.models import PreBooking, ReservationStatus
from bot.users.models import User

WAITING = ReservationStatus.WAITING
ON_HOLD = ReservationStatus.ON_HOLD


@dataclass(frozen=True)
class LineReader:
    """A reader in line, and where to message them."""

    reservation_id: int
    chat_id: int


@dataclass(frozen=True)
class EndedHold:
    """A hold that expired or is about to, with what its messages need."""

    reservation_id: int
    book_id: int
    chat_id: int
    title: str
    author: str
    until: datetime


@dataclass(frozen=True)
class QueuedMessage:
    """An outbox row about one reservation."""

    reservation_id: int
    chat_id: int
    kind: NotificationKind
    message: OutgoingMessage
    restock_id: int | None = None


class HoldRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def now(self) -> datetime:
        """The transaction's time, as now() in its statements sees it."""
        now: datetime | None = await self._session.scalar(select(func.now()))
        assert now is not None
        return now

    async def on_hold_count(self, book_id: int) -> int:
        count = await self._session.scalar(
            select(func.count())
            .select_from(PreBooking)
            .where(PreBooking.book_id == book_id, PreBooking.status == ON_HOLD)
        )
        return count or 0

    async def waiting_count(self, book_id: int) -> int:
        count = await self._session.scalar(
            select(func.count())
            .select_from(PreBooking)
            .where(PreBooking.book_id == book_id, PreBooking.status == WAITING)
        )
        return count or 0

    async def first_waiting(self, book_id: int, count: int) -> list[LineReader]:
        """The first count readers in line for the book, locked (the line's index)."""
        rows = await self._session.execute(
            select(PreBooking.id, User.chat_id)
            .join(User, User.id == PreBooking.user_id)
            .where(PreBooking.book_id == book_id, PreBooking.status == WAITING)
            .order_by(PreBooking.id)
            .limit(count)
            .with_for_update(of=PreBooking)
        )
        return [LineReader(*row) for row in rows]

    async def hold(self, reservation_ids: Sequence[int], until: datetime) -> None:
        await self._session.execute(
            update(PreBooking)
            .where(PreBooking.id.in_(reservation_ids))
            .values(status=ON_HOLD, notified_at=func.now(), hold_expires_at=until)
        )

    async def end_hold(self, reservation_id: int, status: ReservationStatus) -> None:
        """A hold released (cancelled) or collected, stamped with when."""
        stamp = {
            ReservationStatus.CANCELLED: "cancelled_at",
            ReservationStatus.COLLECTED: "collected_at",
        }[status]
        await self._session.execute(
            update(PreBooking)
            .where(PreBooking.id == reservation_id)
            .values({"status": status, stamp: func.now()})
        )

    async def queue(self, messages: Sequence[QueuedMessage]) -> None:
        """Write the messages to the outbox, in this transaction."""
        if not messages:
            return
        await self._session.execute(
            insert(Notification),
            [
                {
                    "restock_id": queued.restock_id,
                    "pre_booking_id": queued.reservation_id,
                    "chat_id": queued.chat_id,
                    "kind": queued.kind.value,
                    "text": queued.message.text,
                    "reply_markup": queued.message.reply_markup,
                }
                for queued in messages
            ],
        )

    async def holds_of_book(self, book_id: int) -> list[HoldEntry]:
        """The book's copies on hold, soonest deadline first."""
        rows = await self._session.execute(
            select(PreBooking.id, User.first_name, User.username, PreBooking.hold_expires_at)
            .join(User, User.id == PreBooking.user_id)
            .where(PreBooking.book_id == book_id, PreBooking.status == ON_HOLD)
            .order_by(PreBooking.hold_expires_at, PreBooking.id)
        )
        entries = []
        for reservation_id, first_name, username, until in rows:
            assert until is not None  # a held reservation always has its deadline
            entries.append(HoldEntry(reservation_id, first_name, username, until))
        return entries

    async def book_of(self, reservation_id: int) -> int | None:
        return await self._session.scalar(
            select(PreBooking.book_id).where(PreBooking.id == reservation_id)
        )

    async def status_locked(self, reservation_id: int) -> ReservationStatus | None:
        return await self._session.scalar(
            select(PreBooking.status).where(PreBooking.id == reservation_id).with_for_update()
        )

    async def books_with_due_holds(self, limit: int) -> list[int]:
        """Up to limit books with holds past their deadline, locked; books another process
        is working on are skipped (SKIP LOCKED), so several processes share the sweep."""
        due = (
            select(PreBooking.book_id)
            .where(PreBooking.status == ON_HOLD, PreBooking.hold_expires_at <= func.now())
            .distinct()
        )
        books = await self._session.scalars(
            select(Book.id)
            .where(Book.id.in_(due.scalar_subquery()))
            .order_by(Book.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(books)

    async def books(self, book_ids: Sequence[int]) -> list[Book]:
        return list(await self._session.scalars(select(Book).where(Book.id.in_(book_ids))))

    async def expire_due(self, book_ids: Sequence[int]) -> list[EndedHold]:
        """Expire the books' holds past their deadline (the books are locked by us)."""
        rows = await self._session.execute(
            update(PreBooking)
            .where(PreBooking.book_id.in_(book_ids))
            .where(PreBooking.status == ON_HOLD, PreBooking.hold_expires_at <= func.now())
            .where(User.id == PreBooking.user_id, Book.id == PreBooking.book_id)
            .values(status=ReservationStatus.EXPIRED, expired_at=func.now())
            .returning(*_ENDED_HOLD)
        )
        return [EndedHold(*row) for row in rows]

    async def claim_reminders(self, reminder: timedelta, limit: int) -> list[EndedHold]:
        """Mark up to limit holds due for their one reminder and return them; holds whose
        whole window is shorter than the reminder get none."""
        due = (
            select(PreBooking.id)
            .where(PreBooking.status == ON_HOLD, PreBooking.reminded_at.is_(None))
            .where(PreBooking.hold_expires_at <= func.now() + reminder)
            .where(PreBooking.hold_expires_at > func.now())
            .where(PreBooking.hold_expires_at - PreBooking.notified_at > reminder)
            .order_by(PreBooking.hold_expires_at, PreBooking.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await self._session.execute(
            update(PreBooking)
            .where(PreBooking.id.in_(due.scalar_subquery()))
            .where(User.id == PreBooking.user_id, Book.id == PreBooking.book_id)
            .values(reminded_at=func.now())
            .returning(*_ENDED_HOLD)
        )
        return [EndedHold(*row) for row in rows]


_ENDED_HOLD: tuple[Any, ...] = (
    PreBooking.id,
    PreBooking.book_id,
    User.chat_id,
    Book.title,
    Book.author,
    PreBooking.hold_expires_at,
)
