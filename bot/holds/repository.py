"""The SQL of holds: the line of a book, copies set aside, and holds falling due."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import Book
from bot.holds.schemas import HoldEntry
from bot.notifications.messages import OutgoingMessage
from bot.notifications.models import Notification, NotificationKind
from bot.reservations.models import PreBooking, ReservationStatus
from bot.users.models import User

WAITING = ReservationStatus.WAITING
ON_HOLD = ReservationStatus.ON_HOLD
PAUSED = ReservationStatus.PAUSED


@dataclass(frozen=True)
class LineReader:
    """A reader in line, and where to message them."""

    reservation_id: int
    book_id: int
    chat_id: int
    until: datetime
    language: str | None = None  # the reader's (users.language); None: the default


@dataclass(frozen=True)
class EndedHold:
    """A hold that expired or is about to, with what its messages need."""

    reservation_id: int
    book_id: int
    chat_id: int
    title: str
    author: str
    until: datetime
    language: str | None = None  # the reader's (users.language); None: the default


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

    async def on_hold_count(self, book_id: int) -> int:
        count = await self._session.scalar(
            select(func.count())
            .select_from(PreBooking)
            .where(PreBooking.book_id == book_id, PreBooking.status == ON_HOLD)
        )
        return count or 0

    async def on_hold_counts(self, book_ids: Sequence[int]) -> dict[int, int]:
        """Copies on hold of each of the books that has any."""
        rows = await self._session.execute(
            select(PreBooking.book_id, func.count())
            .where(PreBooking.book_id.in_(book_ids), PreBooking.status == ON_HOLD)
            .group_by(PreBooking.book_id)
        )
        return {book_id: count for book_id, count in rows}

    async def waiting_count(self, book_id: int, up_to: int) -> int:
        """How many wait for the book, counted up to up_to (the line's index, in order)."""
        return await self._line_count(book_id, WAITING, up_to)

    async def paused_count(self, book_id: int, up_to: int) -> int:
        """How many paused their wait for the book (keeping their place), counted up to
        up_to (the paused line's index, in order)."""
        return await self._line_count(book_id, PAUSED, up_to)

    async def _line_count(self, book_id: int, status: ReservationStatus, up_to: int) -> int:
        line = (
            select(PreBooking.id)
            .where(PreBooking.book_id == book_id, PreBooking.status == status)
            .order_by(PreBooking.id)
            .limit(up_to)
            .subquery()
        )
        count = await self._session.scalar(select(func.count()).select_from(line))
        return count or 0

    async def hold_first_in_line(
        self,
        book_ids: Sequence[int],
        window: timedelta,
        until: datetime | None = None,
        zone: str = "UTC",
    ) -> list[LineReader]:
        """For each book, put as many of the first readers in its line on hold as it has
        free copies (stock minus copies on hold), until window from now (or until
        `until`, the opening hours' deadline), but no later than the end of the day a
        reader needs the book until (needed_until, in the shop's zone); return them in
        line order. The books whose lines so moved are marked for the place updates of
        the readers behind (as BookRepository.mark_line_moved marks them), in the same
        statement. The caller holds the books' row locks, which every change to a line
        takes first, so the line stands still meanwhile."""
        rows = await self._session.execute(
            HOLD_FIRST_IN_LINE,
            {"book_ids": list(book_ids), "window": window, "until": until, "zone": zone},
        )
        return sorted(
            (LineReader(*row) for row in rows),
            key=lambda reader: (reader.book_id, reader.reservation_id),
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


# Free copies per book, then that many of its line through the line's index (a lateral
# LIMIT per book: a line of 100,000 costs as little as a line of 5), set aside in the
# same statement; a reader whose day (needed_until) is over is passed by (the line's
# loop lapses them), and a copy is held no later than the end of that day (least()
# ignores a NULL day). The ids go through an array and each reader's chat is looked up by
# key: the planner, expecting long lines, would otherwise hash the whole table. The
# books whose lines moved are marked in the same statement: no round trip more for the
# restock (bench/holds.py).
HOLD_FIRST_IN_LINE = text(
    """WITH given AS (
       UPDATE pre_bookings
       SET status = 'on_hold', notified_at = now(),
           hold_expires_at = least(
               coalesce(CAST(:until AS timestamptz), now() + CAST(:window AS interval)),
               CAST(pre_bookings.needed_until + 1 AS timestamp) AT TIME ZONE :zone)
       WHERE pre_bookings.id = ANY(ARRAY(
           SELECT line.id
           FROM books
           CROSS JOIN LATERAL (
               SELECT books.stock_quantity - count(*) AS free
               FROM pre_bookings held
               WHERE held.book_id = books.id AND held.status = 'on_hold') AS copies
           CROSS JOIN LATERAL (
               SELECT waiting.id
               FROM pre_bookings waiting
               WHERE waiting.book_id = books.id AND waiting.status = 'waiting'
                 AND (waiting.needed_until IS NULL
                      OR waiting.needed_until >= CAST(now() AT TIME ZONE :zone AS date))
               ORDER BY waiting.id
               LIMIT greatest(copies.free, 0)) AS line
           WHERE books.id = ANY(CAST(:book_ids AS bigint[]))))
       RETURNING pre_bookings.id, pre_bookings.book_id,
                 (SELECT users.chat_id FROM users WHERE users.id = pre_bookings.user_id),
                 pre_bookings.hold_expires_at,
                 (SELECT users.language FROM users WHERE users.id = pre_bookings.user_id)),
       moved AS (
           UPDATE books SET line_moved_at = now()
           WHERE books.id IN (SELECT given.book_id FROM given)
             AND (books.line_moved_at IS NULL OR books.line_moved_at > now()))
       SELECT * FROM given"""
)


_ENDED_HOLD: tuple[Any, ...] = (
    PreBooking.id,
    PreBooking.book_id,
    User.chat_id,
    Book.title,
    Book.author,
    PreBooking.hold_expires_at,
    User.language,
)
