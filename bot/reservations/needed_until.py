"""The SQL of "only needed until" (pre_bookings.needed_until): setting the day, and the
reservations that lapse after it. A day ends at the next midnight in the shop's time zone,
worked out by PostgreSQL from the zone's name (bot.database.zone_name)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Lapse:
    """A reservation that lapsed after its reader's day, with what their message needs."""

    reservation_id: int
    book_id: int
    chat_id: int
    title: str
    author: str
    needed_until: date
    language: str | None = None  # the reader's (users.language); None: the default


class NeededUntilRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def set(self, reservation_id: int, day: date | None, zone: str) -> None:
        """Only needed until the end of day (None: for as long as it takes). A copy on hold
        is then kept no later than that end; a later day never lengthens a hold."""
        await self._session.execute(
            SET_NEEDED_UNTIL, {"id": reservation_id, "day": day, "zone": zone}
        )

    async def books_with_lapses_due(self, today: date, limit: int) -> list[int]:
        """Up to limit books with a waiting or paused reservation needed only until a day
        before today, locked; those another process holds are skipped (SKIP LOCKED)."""
        rows = await self._session.scalars(BOOKS_WITH_LAPSES_DUE, {"today": today, "limit": limit})
        return list(rows)

    async def lapse(self, book_ids: Sequence[int], today: date) -> list[Lapse]:
        """Lapse the books' waiting and paused reservations needed only until a day before
        today (the books are locked by us)."""
        rows = await self._session.execute(LAPSE_DUE, {"book_ids": list(book_ids), "today": today})
        return [Lapse(*row) for row in rows]


SET_NEEDED_UNTIL = text(
    """UPDATE pre_bookings
       SET needed_until = CAST(:day AS date),
           hold_expires_at = CASE
               WHEN status = 'on_hold' AND CAST(:day AS date) IS NOT NULL
               THEN least(hold_expires_at,
                          CAST(CAST(:day AS date) + 1 AS timestamp) AT TIME ZONE :zone)
               ELSE hold_expires_at END
       WHERE id = :id"""
)

# Through ix_pre_bookings_lapse_due: only the rows due are read.
BOOKS_WITH_LAPSES_DUE = text(
    """SELECT books.id FROM books
       WHERE books.id IN (
           SELECT book_id FROM pre_bookings
           WHERE status IN ('waiting', 'paused') AND needed_until IS NOT NULL
             AND needed_until < CAST(:today AS date))
       ORDER BY books.id
       LIMIT :limit
       FOR UPDATE SKIP LOCKED"""
)

LAPSE_DUE = text(
    """UPDATE pre_bookings
       SET status = 'lapsed', lapsed_at = now()
       FROM users, books
       WHERE pre_bookings.book_id = ANY(CAST(:book_ids AS bigint[]))
         AND pre_bookings.status IN ('waiting', 'paused')
         AND pre_bookings.needed_until IS NOT NULL
         AND pre_bookings.needed_until < CAST(:today AS date)
         AND users.id = pre_bookings.user_id AND books.id = pre_bookings.book_id
       RETURNING pre_bookings.id, pre_bookings.book_id, users.chat_id, books.title,
                 books.author, pre_bookings.needed_until, users.language"""
)
