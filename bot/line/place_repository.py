"""The SQL of place updates: the books whose lines moved, the readers they moved up, and
each one's update queued. Set-based: a few statements for a line of any length."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    # At once if the reservation's last update was a day ago or more (or never), else a
    # day after it.
    due: datetime


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
        # The buttons: each distinct markup (one per language) sent once, and numbered
        # (from 1, as PostgreSQL's arrays) for each row to name its own.
        numbers: dict[int, int] = {}
        markups: list[str] = []
        for update in updates:
            markup = update.message.reply_markup
            if id(markup) not in numbers:
                numbers[id(markup)] = len(markups) + 1
                markups.append(json.dumps(markup))
        rows = await self._session.execute(
            QUEUE,
            {
                "ids": [update.reader.reservation_id for update in updates],
                "chats": [update.reader.chat_id for update in updates],
                "places": [update.reader.place for update in updates],
                "dues": [update.reader.due for update in updates],
                "texts": [update.message.text for update in updates],
                "markup_of": [numbers[id(update.message.reply_markup)] for update in updates],
                "markups": markups,
            },
        )
        return {reservation_id for (reservation_id,) in rows}

    async def behind_the_resumed(self, book_ids: Sequence[int]) -> None:
        """Readers resumed ahead of others (the books locked by the caller): each reader
        now behind the place they were last told has it noted as told (their next
        better place is told), and their update not yet out, which speaks of a place
        they no longer hold, is dropped (the next one may go a day after the last sent)."""
        if book_ids:
            await self._session.execute(BEHIND_THE_RESUMED, {"book_ids": list(book_ids)})

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
           SELECT id, user_id, book_id, place_told, place_told_at,
                  row_number() OVER (PARTITION BY book_id ORDER BY id) AS place
           FROM pre_bookings
           WHERE book_id = ANY(CAST(:book_ids AS bigint[])) AND status = 'waiting'),
       noted AS (
           UPDATE pre_bookings SET place_told = line.place
           FROM line
           WHERE pre_bookings.id = line.id AND line.place_told IS NULL)
       SELECT line.id, line.book_id, line.place, users.chat_id, users.language,
              CASE WHEN line.place_told_at IS NULL THEN now()
                   ELSE greatest(now(), line.place_told_at + interval '1 day') END
       FROM line JOIN users ON users.id = line.user_id
       WHERE line.place < line.place_told AND users.line_updates
       ORDER BY line.book_id, line.id"""
)

# The pending update of a reservation is rewritten unless a claim holds it (its lease
# running): that one is on its way with the place it had. Nor is one locked right now (a
# claim's transaction under way, a Stop being pressed) waited for, the book held: the
# claim may be waiting for a reader's row whose press waits for the book. Both are
# looked at again later. An update is queued as of when it is due: NOTIFICATION_MAX_AGE
# counts from then, not from the day before.
QUEUE = text(
    """WITH all_news AS (
           SELECT * FROM unnest(
               CAST(:ids AS bigint[]), CAST(:chats AS bigint[]), CAST(:places AS integer[]),
               CAST(:dues AS timestamptz[]), CAST(:texts AS text[]),
               CAST(:markup_of AS integer[]))
               AS news(id, chat_id, place, due, text, markup)),
       pending AS (
           SELECT id, pre_booking_id FROM notifications
           WHERE pre_booking_id = ANY(CAST(:ids AS bigint[]))
             AND kind = 'place_update' AND status = 'pending'),
       free AS (
           SELECT id FROM notifications
           WHERE id IN (SELECT id FROM pending)
           FOR UPDATE SKIP LOCKED),
       news AS (
           SELECT * FROM all_news
           WHERE all_news.id NOT IN (
               SELECT pre_booking_id FROM pending
               WHERE pending.id NOT IN (SELECT id FROM free))),
       queued AS (
           INSERT INTO notifications
               (pre_booking_id, chat_id, kind, text, reply_markup, next_attempt_at,
                created_at)
           SELECT id, chat_id, 'place_update', text,
                  (CAST(:markups AS jsonb[]))[markup], due, due
           FROM news
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

# An update under a claim (out for sending) is not waited for: it goes as one sent.
BEHIND_THE_RESUMED = text(
    """WITH line AS (
           SELECT id, place_told,
                  row_number() OVER (PARTITION BY book_id ORDER BY id) AS place
           FROM pre_bookings
           WHERE book_id = ANY(CAST(:book_ids AS bigint[])) AND status = 'waiting'),
       worse AS (SELECT id, place FROM line WHERE place_told < place),
       dropped AS (
           UPDATE notifications SET status = 'obsolete'
           WHERE id = ANY(ARRAY(
               SELECT notifications.id FROM notifications JOIN worse
                   ON notifications.pre_booking_id = worse.id
               WHERE notifications.kind = 'place_update'
                 AND notifications.status = 'pending'
                 AND (notifications.claim_token IS NULL
                      OR notifications.next_attempt_at <= now())
               FOR UPDATE OF notifications SKIP LOCKED))
           RETURNING pre_booking_id)
       UPDATE pre_bookings
       SET place_told = worse.place,
           place_told_at = CASE WHEN pre_bookings.id IN (SELECT pre_booking_id FROM dropped)
                                THEN pre_bookings.place_told_at - interval '1 day'
                                ELSE pre_bookings.place_told_at END
       FROM worse
       WHERE pre_bookings.id = worse.id"""
)

RETRY = text(
    """UPDATE books SET line_moved_at = now() + CAST(:after AS interval)
       WHERE id = ANY(CAST(:book_ids AS bigint[]))"""
)
