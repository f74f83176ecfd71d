"""A paused reservation back in its line: by the reader (/resume, the Resume button) or
by the line's loop on the day the reader chose (ResumeStep, the "resumed" step of
bot/line/upkeep.py).

A reader who resumes where their book has a free copy is handled as if they had just
reached their place: under hold_in_line a copy is set aside for them, under notify_all
they are told it is back, as a restock tells the line. (Where a book has free copies
nobody else waits, so they are the only one concerned.)
"""

from collections.abc import Sequence
from datetime import tzinfo
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.models import Book
from bot.books.repository import BookRepository, book_view
from bot.database import zone_name
from bot.holds.line import pass_on_free_copies
from bot.holds.policy import HoldPolicy
from bot.holds.repository import HoldRepository
from bot.i18n import languages
from bot.line.clock import Clock, shop_today
from bot.line.place_repository import PlaceRepository
from bot.line.upkeep import StepReport
from bot.notifications.messages import ReaderMessages
from bot.notifications.repository import NotificationRepository
from bot.reservations.repository import ReservationRepository

BOOKS_PER_PASS = 200


async def resume(
    session: AsyncSession,
    books: Sequence[Book],
    reservation_ids: Sequence[int],
    policy: HoldPolicy,
    zone: tzinfo,
    messages: ReaderMessages,
) -> None:
    """Put the reservations (of these books, locked by the caller) back in line, and give
    those whose book has a free copy what a reader reaching their place gets."""
    await ReservationRepository(session).resume(reservation_ids)
    await PlaceRepository(session).behind_the_resumed([book.id for book in books])
    holds = HoldRepository(session)
    on_hold = await holds.on_hold_counts([book.id for book in books])
    free = [book for book in books if book.stock_quantity > on_hold.get(book.id, 0)]
    if not free:
        return
    if policy.hold_in_line:
        await pass_on_free_copies(
            holds, [book_view(book) for book in free], policy, zone, messages
        )
        return
    for book in free:
        view = book_view(book)
        texts = languages.in_each_language(partial(messages.back_in_stock, view))
        # The restock that brought the copies back: its message is the one they get.
        restock_id = await BookRepository(session).latest_restock_id(book.id)
        await NotificationRepository(session).notify_waiting(
            book.id, restock_id, texts, zone_name(zone)
        )


class ResumeStep:
    """The line's loop's "resumed" step: a batch of paused reservations whose day has
    come (resume_on, at the start of that day in shop time) back in their lines."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: HoldPolicy,
        zone: tzinfo,
        messages: ReaderMessages,
        clock: Clock,
        books_per_pass: int = BOOKS_PER_PASS,
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._zone = zone
        self._messages = messages
        self._clock = clock
        self._books_per_pass = books_per_pass

    async def run(self) -> StepReport:
        today = shop_today(self._clock, self._zone)
        async with self._sessions.begin() as session:
            reservations = ReservationRepository(session)
            # Books first (SKIP LOCKED: another process's, or a restock's, are left for
            # the next pass), then their reservations: the order every change of a line
            # takes, so none deadlocks with restocks or the hold sweeper.
            book_ids = await reservations.books_with_due_resumes(today, self._books_per_pass)
            if not book_ids:
                return StepReport(0)
            due = await reservations.due_resumes(book_ids, today)
            books = await HoldRepository(session).books(book_ids)
            await resume(session, books, due, self._policy, self._zone, self._messages)
        return StepReport(len(due), more=len(book_ids) == self._books_per_pass)
