"""Place updates: the line's step that tells waiting readers their better places.

Whatever moves a line ahead of readers (a cancel, a pause, a lapse, a copy set aside)
marks the book (BookRepository.mark_line_moved) in its own transaction. Each pass of the
line's loop claims a batch of marked books and, in a few statements whatever the lines'
lengths, finds the readers now ahead of the place they were last told, renders each
update in its reader's language and queues it in the outbox: at once if the reservation's
last update was a day ago or more (or never), else a day after it, one waiting at a time
(a newer place rewrites it). The outbox paces them like any broadcast, and drops those
no longer wanted when their turn comes (bot/notifications/stale_places.py).
"""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.line.place_repository import MovedBook, MovedReader, PlaceRepository, PlaceUpdate
from bot.line.upkeep import StepReport
from bot.notifications.messages import PlaceNews, ReaderMessages

BOOKS_PER_PASS = 20


class PlaceUpdates:
    """The LineStep "places"."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messages: ReaderMessages,
        books_per_pass: int = BOOKS_PER_PASS,
    ) -> None:
        self._sessions = sessions
        self._messages = messages
        self._books_per_pass = books_per_pass

    async def run(self) -> StepReport:
        """Queue the updates of a batch of books whose lines moved."""
        async with self._sessions.begin() as session:
            places = PlaceRepository(session)
            books = await places.claim_moved_books(self._books_per_pass)
            if not books:
                return StepReport(0)
            moved = await places.moved_up([book.id for book in books])
            updates = self._render(books, moved)
            done = await places.queue(updates)
            await places.look_again_later(
                sorted({reader.book_id for reader in moved if reader.reservation_id not in done})
            )
        return StepReport(len(done), more=len(books) == self._books_per_pass)

    def _render(self, books: list[MovedBook], moved: list[MovedReader]) -> list[PlaceUpdate]:
        """Each reader's update in their language (TelegramMessages writes a book's
        sentence once per language and fills in each reader's place)."""
        by_id = {book.id: book for book in books}
        return [
            PlaceUpdate(
                reader,
                self._messages.place_update(
                    PlaceNews(
                        reader.reservation_id,
                        by_id[reader.book_id].title,
                        by_id[reader.book_id].author,
                        reader.place,
                        reader.language,
                    )
                ),
            )
            for reader in moved
        ]
