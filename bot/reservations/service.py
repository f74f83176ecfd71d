from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.errors import BookNotFound
from bot.books.repository import BookRepository, book_view
from bot.pagination import PageRequest, page_count
from bot.reservations.errors import BookInStock, NotCancellable, ReservationNotFound
from bot.reservations.models import ReservationStatus
from bot.reservations.repository import ReservationRepository
from bot.reservations.schemas import Cancellation, Confirmation, ReservationPage
from bot.users.repository import UserRepository
from bot.users.schemas import Reader

RESERVATIONS_PAGE_SIZE = 5


class ReservationService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def reserve(self, reader: Reader, book_id: int) -> Confirmation:
        """Put the reader in the queue for an out-of-stock book."""
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).save(reader)
            # The book row lock (FOR NO KEY UPDATE) orders us against a restock
            # (FOR UPDATE): none can commit between our stock check and our insert,
            # so no reservation is left waiting for a book that is back on the shelf.
            # It also orders reserves of one book, so queue positions are exact.
            book = await BookRepository(session).get(book_id, lock="no_key_update")
            if book is None:
                raise BookNotFound(book_id)
            view = book_view(book)
            if view.in_stock:
                raise BookInStock(view)
            reservations = ReservationRepository(session)
            reservation_id = await reservations.add_waiting(user_id, view)
            position = await reservations.queue_position(book_id, reservation_id)
        return Confirmation(reservation_id, view, position)

    async def list_reservations(self, reader: Reader, page: int = 1) -> ReservationPage:
        """The reader's reservations, newest first, one page of them."""
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).save(reader)
            return await self._page(session, user_id, page)

    async def cancel(self, reader: Reader, reservation_id: int, page: int = 1) -> Cancellation:
        """Cancel one of the reader's waiting reservations; the row is kept as history."""
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).save(reader)
            reservations = ReservationRepository(session)
            reservation = await reservations.get_for_user_locked(user_id, reservation_id)
            if reservation is None:
                raise ReservationNotFound(reservation_id)
            if reservation.status is not ReservationStatus.WAITING:
                raise NotCancellable(reservation)
            await reservations.cancel(reservation_id)
            cancelled = await reservations.get_for_user_locked(user_id, reservation_id)
            assert cancelled is not None
            return Cancellation(cancelled, await self._page(session, user_id, page))

    async def _page(self, session: AsyncSession, user_id: int, page: int) -> ReservationPage:
        request = PageRequest(page, RESERVATIONS_PAGE_SIZE)
        items, total, request = await ReservationRepository(session).page_for_user(
            user_id, request
        )
        return ReservationPage(
            tuple(items), request.number, page_count(total, request.size), total
        )
