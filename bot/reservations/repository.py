from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.books.models import Book
from bot.books.schemas import BookView
from bot.database import is_valid_id
from bot.pagination import PageRequest
from bot.reservations.errors import AlreadyWaiting
from bot.reservations.models import ACTIVE_STATUSES, PreBooking, ReservationStatus
from bot.reservations.schemas import ReservationView

LIVE_INDEX = "uq_pre_bookings_live_user_book"

_VIEW_COLUMNS = (
    PreBooking.id,
    PreBooking.book_id,
    Book.title,
    Book.author,
    PreBooking.status,
    PreBooking.created_at,
    PreBooking.notified_at,
    PreBooking.cancelled_at,
    PreBooking.hold_expires_at,
    PreBooking.collected_at,
    PreBooking.expired_at,
    PreBooking.cancel_reason,
    PreBooking.paused_at,
    PreBooking.resume_on,
    PreBooking.needed_until,
    PreBooking.lapsed_at,
)


def _view(row: Any) -> ReservationView:
    return ReservationView(
        row.id,
        row.book_id,
        row.title,
        row.author,
        row.status,
        row.created_at,
        row.notified_at,
        row.cancelled_at,
        row.hold_expires_at,
        row.collected_at,
        row.expired_at,
        getattr(row, "place_in_line", None),
        cancel_reason=row.cancel_reason,
        paused_at=row.paused_at,
        resume_on=row.resume_on,
        needed_until=row.needed_until,
        lapsed_at=row.lapsed_at,
    )


class ReservationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_waiting(self, user_id: int, book: BookView) -> int:
        """A new waiting reservation; the partial unique index refuses a second one."""
        try:
            reservation_id = await self._session.scalar(
                insert(PreBooking)
                .values(user_id=user_id, book_id=book.id)
                .returning(PreBooking.id)
            )
        except IntegrityError as error:
            if LIVE_INDEX in str(error.orig):
                raise AlreadyWaiting(book) from None
            raise
        assert reservation_id is not None
        return int(reservation_id)

    async def active_count(self, user_id: int, other_than_book: int) -> int:
        """The reader's active reservations (ACTIVE_STATUSES) of books other than this one."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(PreBooking)
            .where(PreBooking.user_id == user_id)
            .where(PreBooking.status.in_(ACTIVE_STATUSES))
            .where(PreBooking.book_id != other_than_book)
        )
        assert count is not None
        return count

    async def queue_position(self, book_id: int, reservation_id: int) -> int:
        """1 for the reader who has waited longest for the book."""
        position = await self._session.scalar(
            select(func.count())
            .select_from(PreBooking)
            .where(PreBooking.book_id == book_id)
            .where(PreBooking.status == ReservationStatus.WAITING)
            .where(PreBooking.id <= reservation_id)
        )
        assert position is not None
        return position

    async def place_told(self, reservation_id: int, place: int) -> None:
        """The place the reader was just told (place updates tell them better ones)."""
        await self._session.execute(
            update(PreBooking).where(PreBooking.id == reservation_id).values(place_told=place)
        )

    async def page_for_user(
        self, user_id: int, request: PageRequest
    ) -> tuple[list[ReservationView], int, PageRequest]:
        """The reader's reservations, newest first."""
        total = await self._session.scalar(
            select(func.count()).select_from(PreBooking).where(PreBooking.user_id == user_id)
        )
        assert total is not None
        request = request.clamped(total)
        ahead = aliased(PreBooking)
        place_in_line = (
            select(func.count())
            .where(ahead.book_id == PreBooking.book_id)
            .where(ahead.status == ReservationStatus.WAITING)
            .where(ahead.id <= PreBooking.id)
            .correlate(PreBooking)
            .scalar_subquery()
        )
        rows = await self._session.execute(
            select(
                *_VIEW_COLUMNS,
                case(
                    (PreBooking.status == ReservationStatus.WAITING, place_in_line),
                    # Its own row is not counted: where it stands once resumed.
                    (PreBooking.status == ReservationStatus.PAUSED, place_in_line + 1),
                    else_=None,
                ).label("place_in_line"),
            )
            .join(Book, Book.id == PreBooking.book_id)
            .where(PreBooking.user_id == user_id)
            .order_by(PreBooking.created_at.desc(), PreBooking.id.desc())
            .offset(request.offset)
            .limit(request.size)
        )
        return [_view(row) for row in rows], total, request

    async def get_for_user(
        self, user_id: int, reservation_id: int, lock: Literal["update"] | None = None
    ) -> ReservationView | None:
        """The reader's own reservation, as it is now, or locked (FOR UPDATE of the
        reservation row) until the transaction ends."""
        if not is_valid_id(reservation_id):
            return None
        statement = (
            select(*_VIEW_COLUMNS)
            .join(Book, Book.id == PreBooking.book_id)
            .where(PreBooking.id == reservation_id)
            .where(PreBooking.user_id == user_id)
        )
        if lock == "update":
            statement = statement.with_for_update(of=PreBooking)
        row = (await self._session.execute(statement)).one_or_none()
        return None if row is None else _view(row)

    async def cancel(self, reservation_id: int) -> None:
        await self._session.execute(
            update(PreBooking)
            .where(PreBooking.id == reservation_id)
            .values(status=ReservationStatus.CANCELLED, cancelled_at=func.now())
        )

    async def pause(self, reservation_id: int, resume_on: date | None) -> None:
        """Out of the line (its id keeps its place) until resumed, or until resume_on."""
        await self._session.execute(
            update(PreBooking)
            .where(PreBooking.id == reservation_id)
            .values(status=ReservationStatus.PAUSED, paused_at=func.now(), resume_on=resume_on)
        )

    async def resume(self, reservation_ids: Sequence[int]) -> None:
        """Back in the line at their places, each reader's place noted as told (place
        updates count from there). The books are locked by the caller."""
        await self._session.execute(
            update(PreBooking)
            .where(PreBooking.id.in_(reservation_ids))
            .where(PreBooking.status == ReservationStatus.PAUSED)
            .values(status=ReservationStatus.WAITING, paused_at=None, resume_on=None)
        )
        ahead = aliased(PreBooking)
        await self._session.execute(
            update(PreBooking)
            .where(PreBooking.id.in_(reservation_ids))
            .values(
                place_told=select(func.count())
                .where(ahead.book_id == PreBooking.book_id)
                .where(ahead.status == ReservationStatus.WAITING)
                .where(ahead.id <= PreBooking.id)
                .correlate(PreBooking)
                .scalar_subquery()
            )
        )

    async def books_with_due_resumes(self, today: date, limit: int) -> list[int]:
        """Up to limit books with paused reservations due to resume by today, locked
        (before any of their reservations, as everything that changes a line locks);
        books another process is working on are skipped (SKIP LOCKED)."""
        due = (
            select(PreBooking.book_id)
            .where(PreBooking.status == ReservationStatus.PAUSED)
            .where(PreBooking.resume_on <= today)
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

    async def due_resumes(self, book_ids: Sequence[int], today: date) -> list[int]:
        """The books' paused reservations due to resume by today (the books locked)."""
        found = await self._session.scalars(
            select(PreBooking.id)
            .where(PreBooking.book_id.in_(book_ids))
            .where(PreBooking.status == ReservationStatus.PAUSED)
            .where(PreBooking.resume_on <= today)
            .order_by(PreBooking.id)
            .with_for_update()
        )
        return list(found)
