"""The reader's use cases on the line: joining it (reserve), seeing their places, leaving
it (cancel, which passes a held copy on to the next reader). It sits above reservations
(the records) and holds (copies set aside), as bot/restocks/ is staff's use case."""

from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.errors import BookWithdrawn
from bot.books.expected_wait import HISTORY, expected_day
from bot.books.repository import BookRepository, book_view
from bot.database import is_valid_id
from bot.holds.line import pass_on_free_copies
from bot.holds.policy import HoldPolicy
from bot.holds.repository import HoldRepository
from bot.line.pages import locked_book_of, reservation_page
from bot.notifications.messages import ReaderMessages
from bot.reservations.errors import (
    BookInStock,
    NotCancellable,
    ReservationNotFound,
    TooManyReservations,
)
from bot.reservations.models import ReservationStatus
from bot.reservations.repository import ReservationRepository
from bot.reservations.schemas import (
    Cancellation,
    Confirmation,
    RequestWithdrawal,
    ReservationPage,
)
from bot.special_orders.errors import RequestDecided, RequestNotFound
from bot.special_orders.models import RequestStatus
from bot.special_orders.repository import RequestRepository
from bot.users.repository import UserRepository
from bot.users.schemas import Reader

CANCELLABLE = {ReservationStatus.WAITING, ReservationStatus.PAUSED, ReservationStatus.ON_HOLD}


class ReservationService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messages: ReaderMessages,
        policy: HoldPolicy,
        zone: tzinfo = UTC,
        max_active: int = 0,
    ) -> None:
        self._sessions = sessions
        self._messages = messages
        self._policy = policy
        self._zone = zone  # the shop's (TIMEZONE): reservations' times are shown in it
        self._max_active = max_active  # MAX_ACTIVE_RESERVATIONS; 0: no limit

    async def reserve(self, reader: Reader, book_id: int) -> Confirmation:
        """Put the reader in the queue for an out-of-stock book."""
        async with self._sessions.begin() as session:
            # Saving the reader upserts their row, which locks it until we commit: one
            # reader's reserves take turns here, so the count below is theirs to the end
            # (they come from several processes; one process takes a reader's updates in
            # turn). The reader's row before the book's, as cancel takes them; nothing
            # locks a book and then a reader.
            user_id = await UserRepository(session).save(reader)
            # The book row lock (FOR NO KEY UPDATE) orders us against a restock
            # (FOR UPDATE): none can commit between our stock check and our insert,
            # so no reservation is left waiting for a book that is back on the shelf.
            # It also orders reserves of one book, so queue positions are exact.
            book = await BookRepository(session).get_existing(book_id, lock="no_key_update")
            view = book_view(book)
            # Copies on hold are spoken for: with none free, the reader joins the line.
            free = view.stock_quantity - await HoldRepository(session).on_hold_count(book_id)
            if free > 0:
                raise BookInStock(replace(view, stock_quantity=free))
            # With no free copy, a withdrawn book has no line to join (a free one, left
            # on the shelf or by a hold that ended, may still be bought: said above).
            if view.withdrawn:
                raise BookWithdrawn(view)
            reservations = ReservationRepository(session)
            # A reservation of this very book is left to the insert: "already waiting"
            # says more than the limit.
            if self._max_active and (
                await reservations.active_count(user_id, other_than_book=book_id)
                >= self._max_active
            ):
                raise TooManyReservations(self._max_active)
            reservation_id = await reservations.add_waiting(user_id, view)
            position = await reservations.queue_position(book_id, reservation_id)
            # The confirmation tells the place: place updates start from it.
            await reservations.place_told(reservation_id, position)
            now = datetime.now(UTC)
            history = await BookRepository(session).restock_histories([book_id], now - HISTORY)
            expected = expected_day(history[book_id], position, now, self._zone)
        return Confirmation(reservation_id, view, position, expected)

    async def list_reservations(self, reader: Reader, page: int = 1) -> ReservationPage:
        """The reader's reservations, newest first, one page of them."""
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).save(reader)
            return await reservation_page(session, user_id, page, self._zone)

    async def cancel(self, reader: Reader, reservation_id: int, page: int = 1) -> Cancellation:
        """Cancel one of the reader's waiting reservations, or release a copy held for
        them, which goes to the next reader in line; the row is kept as history."""
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).save(reader)
            reservations = ReservationRepository(session)
            book = await locked_book_of(session, user_id, reservation_id)
            reservation = await reservations.get_for_user(user_id, reservation_id, lock="update")
            if book is None or reservation is None:
                raise ReservationNotFound(reservation_id)
            if reservation.status not in CANCELLABLE:
                raise NotCancellable(reservation.in_zone(self._zone))
            await reservations.cancel(reservation_id)
            if reservation.status is ReservationStatus.WAITING:
                # Those behind move up: the line's loop tells them (place_updates.py).
                await BookRepository(session).mark_line_moved([reservation.book_id])
            if reservation.status is ReservationStatus.ON_HOLD:
                await pass_on_free_copies(
                    HoldRepository(session),
                    [book_view(book)],
                    self._policy,
                    self._zone,
                    self._messages,
                )
            cancelled = await reservations.get_for_user(user_id, reservation_id, lock="update")
            assert cancelled is not None
            return Cancellation(
                cancelled.in_zone(self._zone),
                await reservation_page(session, user_id, page, self._zone),
            )

    async def withdraw_request(
        self, reader: Reader, request_id: int, page: int = 1
    ) -> RequestWithdrawal:
        """The reader takes back one of their open special orders; once staff ordered or
        declined it, it is theirs no more to withdraw (RequestDecided)."""
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).save(reader)
            requests = RequestRepository(session)
            # The request's row, as /order and /decline lock it: they see it withdrawn
            # or we see it decided.
            request = (
                await requests.get(request_id, lock=True) if is_valid_id(request_id) else None
            )
            if request is None or not await requests.asked_by(user_id, request_id):
                raise RequestNotFound(request_id)
            if request.status != RequestStatus.OPEN.value:
                raise RequestDecided(request_id, request.status)
            await requests.withdraw(user_id, request_id)
            return RequestWithdrawal(
                request_id,
                request.title,
                await reservation_page(session, user_id, page, self._zone),
            )
