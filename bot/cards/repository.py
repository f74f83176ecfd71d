"""Reads for book cards: a reader's reservation of a book, and the lines of readers."""

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import Book
from bot.books.repository import book_view
from bot.books.schemas import BookView
from bot.cards.schemas import (
    BookInLine,
    NoReservation,
    Notified,
    OnHold,
    Paused,
    ReaderStatus,
    Waiting,
)
from bot.reservations.models import PreBooking, ReservationStatus


class CardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def reader_status(self, user_id: int, book: BookView) -> ReaderStatus:
        """The reader's latest reservation of the book that still means something."""
        latest = (
            await self._session.execute(
                select(PreBooking.id, PreBooking.status, PreBooking.created_at)
                .add_columns(
                    PreBooking.notified_at, PreBooking.hold_expires_at, PreBooking.resume_on
                )
                .where(PreBooking.user_id == user_id, PreBooking.book_id == book.id)
                .where(PreBooking.status != ReservationStatus.CANCELLED)
                .order_by(PreBooking.id.desc())
                .limit(1)
            )
        ).one_or_none()
        if latest is None:
            return NoReservation()
        if latest.status in (ReservationStatus.WAITING, ReservationStatus.PAUSED):
            place = await self._session.scalar(
                select(func.count())
                .select_from(PreBooking)
                .where(PreBooking.book_id == book.id)
                .where(PreBooking.status == ReservationStatus.WAITING)
                .where(PreBooking.id <= latest.id)
            )
            if latest.status is ReservationStatus.PAUSED:
                # Its own row is not counted: the place it takes when resumed.
                return Paused(latest.id, int(place or 0) + 1, latest.resume_on)
            return Waiting(latest.id, int(place or 0), latest.created_at)
        if latest.status is ReservationStatus.ON_HOLD and latest.hold_expires_at is not None:
            return OnHold(latest.id, latest.hold_expires_at)
        # Told it was back: worth saying while it is; once sold out again, they may
        # reserve anew. A hold collected or expired is history: they may reserve again.
        if latest.status is ReservationStatus.NOTIFIED and book.in_stock:
            return Notified(latest.id, latest.notified_at or latest.created_at)
        return NoReservation()

    async def readers_in_line(self, book_id: int) -> tuple[int, int]:
        """How many readers wait for the book, and how many paused (they keep their place):
        one pass over the book's line and its paused readers (their partial indexes)."""
        waiting = PreBooking.status == ReservationStatus.WAITING
        paused = PreBooking.status == ReservationStatus.PAUSED
        counts = (
            await self._session.execute(
                select(func.count().filter(waiting), func.count().filter(paused))
                .where(PreBooking.book_id == book_id)
                .where(or_(waiting, paused))
            )
        ).one()
        return int(counts[0]), int(counts[1])

    async def waiting_counts(self, book_ids: Sequence[int]) -> dict[int, int]:
        rows = await self._session.execute(
            select(PreBooking.book_id, func.count())
            .where(PreBooking.book_id.in_(book_ids))
            .where(PreBooking.status == ReservationStatus.WAITING)
            .group_by(PreBooking.book_id)
        )
        return {book_id: count for book_id, count in rows}

    async def longest_lines(self, limit: int) -> list[BookInLine]:
        """The books most readers wait for, longest line first."""
        waiting = func.count().label("waiting")
        rows = await self._session.execute(
            select(Book, waiting)
            .join(PreBooking, PreBooking.book_id == Book.id)
            .where(PreBooking.status == ReservationStatus.WAITING)
            .group_by(Book.id)
            .order_by(waiting.desc(), Book.id)
            .limit(limit)
        )
        return [BookInLine(book_view(book), count) for book, count in rows]

    async def books_for_tags(self, sold_out_only: bool) -> list[BookView]:
        """The catalog in title order (only books sold out, not withdrawn, when asked), for
        shelf tags."""
        statement = select(Book).order_by(Book.title_key, Book.id)
        if sold_out_only:
            # Sold out and not withdrawn: a tag invites readers to wait for it.
            statement = statement.where(Book.stock_quantity == 0, Book.withdrawn_at.is_(None))
        return [book_view(book) for book in await self._session.scalars(statement)]
