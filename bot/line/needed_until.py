"""Only needed until (Koha's "not needed after"): the reader says the last day they still
want the book. After that day ends in shop time a reservation still in line lapses (the
line's loop: bot/line/lapses.py), and a copy set aside is kept no later than its end."""

import calendar
import enum
from datetime import date, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.repository import BookRepository
from bot.database import zone_name
from bot.line.clock import Clock, shop_today, system_clock
from bot.reservations.errors import DayPassed, ReservationEnded, ReservationNotFound
from bot.reservations.models import ReservationStatus
from bot.reservations.needed_until import NeededUntilRepository
from bot.reservations.repository import ReservationRepository
from bot.reservations.schemas import ReservationView
from bot.users.repository import UserRepository
from bot.users.schemas import Reader

# A day can be set on a reservation still in line, or on a copy set aside.
ADJUSTABLE = {ReservationStatus.WAITING, ReservationStatus.PAUSED, ReservationStatus.ON_HOLD}


class Span(enum.Enum):
    """The spans offered as buttons right after reserving (their values ride in them)."""

    TWO_WEEKS = "2w"
    ONE_MONTH = "1m"
    THREE_MONTHS = "3m"

    def after(self, today: date) -> date:
        """The last day of the span that starts today."""
        match self:
            case Span.TWO_WEEKS:
                return today + timedelta(weeks=2)
            case Span.ONE_MONTH:
                return months_after(today, 1)
            case Span.THREE_MONTHS:
                return months_after(today, 3)


def months_after(day: date, months: int) -> date:
    """The same day of the month, months later (the month's last day if it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class NeededUntilService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zone: tzinfo,
        clock: Clock = system_clock,
    ) -> None:
        self._sessions = sessions
        self._zone = zone  # the shop's (TIMEZONE): days begin and end in it
        self._clock = clock

    def today(self) -> date:
        return shop_today(self._clock, self._zone)

    async def set_needed_until(
        self, reader: Reader, reservation_id: int, day: date | None
    ) -> ReservationView:
        """Only needed until the end of day (None: for as long as it takes); on a copy set
        aside the deadline comes down to that end if it is earlier."""
        today = self.today()
        if day is not None and day < today:
            raise DayPassed(day, today)
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).save(reader)
            reservations = ReservationRepository(session)
            # The book before the reservation, as cancel and the line's loop take them.
            found = await reservations.get_for_user(user_id, reservation_id)
            if found is not None:
                await BookRepository(session).get(found.book_id, lock="update")
            reservation = await reservations.get_for_user(user_id, reservation_id, lock="update")
            if reservation is None:
                raise ReservationNotFound(reservation_id)
            if reservation.status not in ADJUSTABLE:
                raise ReservationEnded(reservation.in_zone(self._zone))
            await NeededUntilRepository(session).set(reservation_id, day, zone_name(self._zone))
            changed = await reservations.get_for_user(user_id, reservation_id)
            assert changed is not None
            return changed.in_zone(self._zone)

    async def need_for(self, reader: Reader, reservation_id: int, span: Span) -> ReservationView:
        """A button's span from today: pressing another replaces the day."""
        return await self.set_needed_until(reader, reservation_id, span.after(self.today()))
