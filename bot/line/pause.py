"""Pause (Koha's "suspend"): a reader steps out of their line for a while and keeps their
place. A paused reservation is skipped by restocks (their line is status 'waiting') and
moves up as others leave; resumed, by the reader or on the day they chose, it is back in
line at its place (bot/line/resuming.py)."""

from dataclasses import dataclass, replace
from datetime import date, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.models import Book
from bot.books.repository import BookRepository
from bot.holds.policy import HoldPolicy
from bot.line import resuming
from bot.line.clock import Clock, shop_today, system_clock
from bot.line.pages import locked_book_of, reservation_page
from bot.notifications.messages import ReaderMessages
from bot.reservations.errors import (
    NotPausable,
    NotPaused,
    ReservationNotFound,
    ResumeDayNotAhead,
)
from bot.reservations.models import ReservationStatus
from bot.reservations.repository import ReservationRepository
from bot.reservations.schemas import ReservationPage, ReservationView
from bot.users.repository import UserRepository
from bot.users.schemas import Reader


@dataclass(frozen=True)
class PauseChange:
    """The reservation after a pause or a resume (its place_in_line filled in: where it
    stands, or will stand once resumed), and the reader's list as it now stands."""

    reservation: ReservationView
    page: ReservationPage


class PauseService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messages: ReaderMessages,
        policy: HoldPolicy,
        zone: tzinfo,
        clock: Clock = system_clock,
    ) -> None:
        self._sessions = sessions
        self._messages = messages
        self._policy = policy
        self._zone = zone  # the shop's (TIMEZONE): a day to resume is one of its days
        self._clock = clock

    async def pause(
        self, reader: Reader, reservation_id: int, resume_on: date | None = None, page: int = 1
    ) -> PauseChange:
        """Take one of the reader's waiting reservations out of the line, keeping its
        place; with resume_on, until the start of that day in shop time."""
        today = shop_today(self._clock, self._zone)
        async with self._sessions.begin() as session:
            user_id, book, reservation = await self._locked(session, reader, reservation_id)
            if reservation.status is not ReservationStatus.WAITING:
                raise NotPausable(reservation.in_zone(self._zone))
            if resume_on is not None and resume_on <= today:
                raise ResumeDayNotAhead(resume_on, today)
            await ReservationRepository(session).pause(reservation_id, resume_on)
            # The readers behind move up (the line's loop tells them).
            await BookRepository(session).mark_line_moved([book.id])
            return await self._change(session, user_id, reservation_id, page)

    async def resume(self, reader: Reader, reservation_id: int, page: int = 1) -> PauseChange:
        """Put one of the reader's paused reservations back in line at its place; where
        the book has a free copy, they get it (hold_in_line) or the news (notify_all)."""
        async with self._sessions.begin() as session:
            user_id, book, reservation = await self._locked(session, reader, reservation_id)
            if reservation.status is not ReservationStatus.PAUSED:
                raise NotPaused(reservation.in_zone(self._zone))
            await resuming.resume(
                session, [book], [reservation_id], self._policy, self._zone, self._messages
            )
            return await self._change(session, user_id, reservation_id, page)

    async def _locked(
        self, session: AsyncSession, reader: Reader, reservation_id: int
    ) -> tuple[int, Book, ReservationView]:
        """The reader's id, and the book and the reservation, locked in that order (as
        cancel, restocks and the line's loop lock them)."""
        user_id = await UserRepository(session).save(reader)
        book = await locked_book_of(session, user_id, reservation_id)
        reservation = await ReservationRepository(session).get_for_user(
            user_id, reservation_id, lock="update"
        )
        if book is None or reservation is None:
            raise ReservationNotFound(reservation_id)
        return user_id, book, reservation

    async def _change(
        self, session: AsyncSession, user_id: int, reservation_id: int, page: int
    ) -> PauseChange:
        reservations = ReservationRepository(session)
        changed = await reservations.get_for_user(user_id, reservation_id)
        assert changed is not None
        place = None
        if changed.status in (ReservationStatus.WAITING, ReservationStatus.PAUSED):
            # A paused row is not in the count: the place it takes when resumed.
            place = await reservations.queue_position(changed.book_id, reservation_id)
            place += changed.status is ReservationStatus.PAUSED
        return PauseChange(
            replace(changed, place_in_line=place).in_zone(self._zone),
            await reservation_page(session, user_id, page, self._zone),
        )
