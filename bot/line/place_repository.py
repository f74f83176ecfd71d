"""The SQL of place updates: the books whose lines moved, the readers they moved up, and
each one's update queued. Set-based: a few statements for a line of any length."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notifications.messages import OutgoingMessage

# A book with an update that could not be rewritten (its message out for sending right
# now, or given back after a try) is looked at again this much later.
RETRY_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class MovedBook:
    id: int
    title: str
    author: str


@dataclass(frozen=True)
class MovedReader:
    """A waiting reader now ahead of the place they were last told."""

    reservation_id: int
    book_id: int
    place: int
    chat_id: int
    language: str | None


@dataclass(frozen=True)
class PlaceUpdate:
    reader: MovedReader
    message: OutgoingMessage


class PlaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim_moved_books(self, limit: int) -> list[MovedBook]:
        """Up to limit books whose lines moved, locked (SKIP LOCKED: another process's
        are left to it), their marks cleared: a move after this marks them again."""
        rows = await self._session.execute(CLAIM_MOVED_BOOKS, {"limit": limit})
        return [MovedBook(*row) for row in rows]

    async def moved_up(self, book_ids: Sequence[int]) -> list[MovedReader]:
        """The books' waiting readers whose place (counting the waiting readers ahead,
        not the paused ones) is better than the one they were last told, and who take
        updates. A reader who reserved before place updates existed is told nothing now:
        their place is noted, for the next move."""
        rows = await self._session.execute(MOVED_UP, {"book_ids": list(book_ids)})
        return [MovedReader(*row) for row in rows]

    async def queue(self, updates: Sequence[PlaceUpdate]) -> set[int]:
        """Queue each update, due at once if the reservation's last one was a day ago or
        more (or never), else a day after it; an update already waiting is rewritten
        with the newer place and keeps its time. Note the place told and when. Return
        the reservations done: not those whose update is out for sending right now."""
        if not updates:
            return set()
        markups: dict[int, str] = {}  # one JSON text per markup (one per language)
        for update in updates:
            markup = update.message.reply_markup
            if id(markup) not in markups:
                markups[id(markup)] = json.dumps(markup)
        rows = await self._session.execute(
            QUEUE,
            {
                "ids": [update.reader.reservation_id for update in updates],
                "chats": [update.reader.chat_id for update in updates],
                "places": [update.reader.place for update in updates],
                "texts": [update.message.text for update in updates],
                "markups": [markups[id(update.message.reply_markup)] for update in updates],
            },
        )
        return {reservation_id for (reservation_id,) in rows}

    async def look_again_later(self, book_ids: Sequence[int]) -> None:
        if book_ids:
            await self._session.execute(RETRY, {"book_ids": list(book_ids), "after": RETRY_AFTER})


CLAIM_MOVED_BOOKS = text(
    """UPDATE books SET line_moved_at = NULL
       WHERE id = ANY(ARRAY(
           SELECT id FROM books
           WHERE line_moved_at <= now()
           ORDER BY line_moved_at, id
           LIMIT :limit
           FOR UPDATE SKIP LOCKED))
       RETURNING id, title, author"""
)

# Places by the line's index, in order: the row number among the book's waiting readers.
MOVED_UP = text(
    """WITH line AS (
           SELECT id, user_id, book_id, place_told,
                  row_number() OVER (PARTITION BY book_id ORDER BY id) AS place
           FROM pre_bookings
           WHERE book_id = ANY(CAST(:book_ids AS bigint[])) AND status = 'waiting'),
       noted AS (
           UPDATE pre_bookings SET place_told = line.place
           FROM line
           WHERE pre_bookings.id = line.id AND line.place_told IS NULL)
       SELECT line.id, line.book_id, line.place, users.chat_id, users.language
       FROM line JOIN users ON users.id = line.user_id
       WHERE line.place < line.place_told AND users.line_updates
       ORDER BY line.book_id, line.id"""
)

# The pending update of a reservation is rewritten unless a claim holds it (its lease
# running): that one is on its way with the place it had.
QUEUE = text(
    """WITH news AS (
           SELECT * FROM unnest(
               CAST(:ids AS bigint[]), CAST(:chats AS bigint[]), CAST(:places AS integer[]),
               CAST(:texts AS text[]), CAST(:markups AS jsonb[]))
               AS news(id, chat_id, place, text, markup)),
       queued AS (
           INSERT INTO notifications
               (pre_booking_id, chat_id, kind, text, reply_markup, next_attempt_at)
           SELECT news.id, news.chat_id, 'place_update', news.text, news.markup,
                  CASE WHEN pre_bookings.place_told_at IS NULL THEN now()
                       ELSE greatest(now(), pre_bookings.place_told_at + interval '1 day')
                  END
           FROM news JOIN pre_bookings ON pre_bookings.id = news.id
           ON CONFLICT (pre_booking_id) WHERE kind = 'place_update' AND status = 'pending'
           DO UPDATE SET text = excluded.text, reply_markup = excluded.reply_markup,
                         chat_id = excluded.chat_id
           WHERE notifications.claim_token IS NULL OR notifications.next_attempt_at <= now()
           RETURNING pre_booking_id, next_attempt_at)
       UPDATE pre_bookings
       SET place_told = news.place, place_told_at = queued.next_attempt_at
       FROM queued JOIN news ON news.id = queued.pre_booking_id
       WHERE pre_bookings.id = queued.pre_booking_id
       RETURNING pre_bookings.id"""
)

RETRY = text(
    """UPDATE books SET line_moved_at = now() + CAST(:after AS interval)
       WHERE id = ANY(CAST(:book_ids AS bigint[]))"""
)
