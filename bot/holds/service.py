"""Staff's side of holds: the catalog with held copies spoken for, collections, the holds
of a book. The restock that sets copies aside is bot/restocks/."""

from dataclasses import replace
from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.models import Book
from bot.books.repository import BookRepository, book_view
from bot.books.schemas import BookPage
from bot.books.service import BOOKS_PAGE_SIZE, BookService
from bot.database import is_valid_id
from bot.holds.errors import NotOnHold
from bot.holds.policy import HoldPolicy
from bot.holds.repository import HoldRepository
from bot.holds.schemas import (
    LINE_COUNTED_UP_TO,
    Collection,
    HoldEntry,
    HoldsReport,
    in_shop_time,
)
from bot.reservations.models import ReservationStatus
from bot.users.admins import Admins


class HoldService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
        books: BookService,
        policy: HoldPolicy,
        zone: tzinfo,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._books = books
        self._policy = policy
        self._zone = zone  # the shop's (TIMEZONE): deadlines are shown in it

    async def list_books(
        self, page: int = 1, query: str | None = None, size: int = BOOKS_PAGE_SIZE
    ) -> BookPage:
        """The catalog as readers see it. Under hold_in_line a held copy is spoken for,
        so a book shows its free copies: with all of them held, readers may join its line."""
        books = await self._books.list_books(page, query, size)
        if not self._policy.hold_in_line or not books.books:
            return books
        async with self._sessions.begin() as session:
            held = await HoldRepository(session).on_hold_counts([book.id for book in books.books])
        free = tuple(
            replace(book, stock_quantity=book.stock_quantity - held.get(book.id, 0))
            for book in books.books
        )
        return replace(books, books=free)

    async def collect(self, actor_id: int, reservation_id: int) -> Collection:
        """The reader took their held copy at the counter: one copy fewer in the shop."""
        self._admins.require(actor_id)
        async with self._sessions.begin() as session:
            holds = HoldRepository(session)
            book, status = await self._locked(session, holds, reservation_id)
            if book is None or status is not ReservationStatus.ON_HOLD:
                raise NotOnHold(reservation_id, status)
            await holds.end_hold(reservation_id, ReservationStatus.COLLECTED)
            # Free copies stay as they were: the copy leaves the stock and the holds. A
            # stock already below its holds (set under notify_all before the floor held
            # under both policies) stays at 0 rather than failing the collection.
            stock = max(book.stock_quantity - 1, 0)
            await BookRepository(session).set_stock(book, stock, actor_id)
            return Collection(reservation_id, book_view(book))

    async def holds_report(self, actor_id: int, book_id: int) -> HoldsReport:
        """The book's copies on hold, how many are free, how long its line is (waiting,
        and paused: they keep their place and still want the book)."""
        self._admins.require(actor_id)
        async with self._sessions.begin() as session:
            book = await BookRepository(session).get_existing(book_id)
            holds = HoldRepository(session)
            held = await holds.holds_of_book(book_id)
            waiting = await holds.waiting_count(book_id, LINE_COUNTED_UP_TO + 1)
            paused = await holds.paused_count(book_id, LINE_COUNTED_UP_TO + 1)
            view = book_view(book)
            return HoldsReport(
                view,
                self._shown(held),
                view.stock_quantity - len(held),
                min(waiting, LINE_COUNTED_UP_TO),
                line_longer=waiting > LINE_COUNTED_UP_TO,
                paused=min(paused, LINE_COUNTED_UP_TO),
                paused_longer=paused > LINE_COUNTED_UP_TO,
            )

    @staticmethod
    async def _locked(
        session: AsyncSession, holds: HoldRepository, reservation_id: int
    ) -> tuple[Book | None, ReservationStatus | None]:
        """The reservation's book and status, both locked: the book first, as every
        change to a book's line takes them."""
        if not is_valid_id(reservation_id):
            return None, None
        book_id = await holds.book_of(reservation_id)
        if book_id is None:
            return None, None
        book = await BookRepository(session).get(book_id, lock="update")
        return book, await holds.status_locked(reservation_id)

    def _shown(self, held: list[HoldEntry]) -> tuple[HoldEntry, ...]:
        return in_shop_time(held, self._zone)
