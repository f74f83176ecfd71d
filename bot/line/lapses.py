"""The line's step that lapses reservations no longer needed: at the end of the day a
reader needs the book until (shop time), their waiting or paused reservation lapses,
is kept as history, and they are told once. A copy on hold does not lapse: its deadline
was capped at that day's end (bot/holds/repository.py), and the hold expiry ends it."""

from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.repository import BookRepository
from bot.holds.repository import HoldRepository, QueuedMessage
from bot.line.clock import Clock, shop_today, system_clock
from bot.line.upkeep import StepReport
from bot.notifications.messages import LapsedWait, ReaderMessages
from bot.notifications.models import NotificationKind
from bot.reservations.needed_until import NeededUntilRepository

BOOKS_PER_PASS = 200


class LapseStep:
    """One batch of lapses: what the line's loop runs as "lapsed"."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zone: tzinfo,
        messages: ReaderMessages,
        clock: Clock = system_clock,
        books_per_pass: int = BOOKS_PER_PASS,
    ) -> None:
        self._sessions = sessions
        self._zone = zone
        self._messages = messages
        self._clock = clock
        self._books_per_pass = books_per_pass

    async def run(self) -> StepReport:
        """Lock a batch of books with lapses due (skipping those another process holds),
        then lapse their reservations, queue each reader's message and mark the books'
        lines as moved, in one transaction."""
        today = shop_today(self._clock, self._zone)
        async with self._sessions.begin() as session:
            lapses = NeededUntilRepository(session)
            book_ids = await lapses.books_with_lapses_due(today, self._books_per_pass)
            if not book_ids:
                return StepReport(0)
            lapsed = await lapses.lapse(book_ids, today)
            await HoldRepository(session).queue(
                [
                    QueuedMessage(
                        lapse.reservation_id,
                        lapse.chat_id,
                        NotificationKind.LAPSED,
                        self._messages.lapsed(
                            LapsedWait(
                                lapse.reservation_id,
                                lapse.book_id,
                                lapse.title,
                                lapse.author,
                                lapse.needed_until,
                                lapse.language,
                            )
                        ),
                    )
                    for lapse in lapsed
                ]
            )
            await BookRepository(session).mark_line_moved(book_ids)
        return StepReport(len(lapsed), more=len(book_ids) == self._books_per_pass)
