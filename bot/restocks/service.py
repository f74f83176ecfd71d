"""The restock use case: staff set a book's stock, and its line of readers hears of it
as RESTOCK_POLICY says. It sits above books (the stock), reservations and holds (the
line), so that none of them needs to know the others' part."""

from dataclasses import replace
from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books import rules
from bot.books.models import Book
from bot.books.repository import BookRepository, book_view
from bot.database import zone_name
from bot.holds.errors import StockBelowHolds
from bot.holds.line import pass_on_free_copies
from bot.holds.policy import HoldPolicy
from bot.holds.repository import HoldRepository
from bot.holds.schemas import LINE_COUNTED_UP_TO, LineRestock, in_shop_time
from bot.i18n import languages
from bot.notifications.messages import ReaderMessages
from bot.notifications.repository import NotificationRepository
from bot.restocks.repository import RestockRepository
from bot.restocks.schemas import Restock
from bot.users.admins import Admins


class RestockService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
        messages: ReaderMessages,
        policy: HoldPolicy,
        zone: tzinfo,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._messages = messages
        self._policy = policy
        self._zone = zone  # the shop's (TIMEZONE): deadlines are shown in it

    async def restock(self, actor_id: int, book_id: int, quantity: int) -> Restock | LineRestock:
        """Set a book's stock (staff only). Under notify_all, a change that brings free
        copies (not on hold) where there were none tells every waiting reader; under
        hold_in_line, the free copies go to the first readers in line. Under either, the
        stock may not go below the copies on hold (a shop may switch policies with copies
        held). In one transaction with the messages it queues. A withdrawn book that it
        brings copies to (a stock above the one before) is withdrawn no more."""
        self._admins.require(actor_id)
        quantity = rules.checked_quantity(quantity)
        async with self._sessions.begin() as session:
            # FOR UPDATE: orders us against reserves, releases, collections and the
            # expiry of this book's holds, which all lock the book first; each reader
            # is either told here or refused as in stock.
            book = await BookRepository(session).get_existing(book_id, lock="update")
            # Copies came in: the publisher reprinted. A change down or to the same stock
            # (a count corrected, the last copies sold) leaves it withdrawn.
            reinstated = book.withdrawn_at is not None and quantity > book.stock_quantity
            if reinstated:
                await BookRepository(session).reinstate(book)
            result: Restock | LineRestock
            if self._policy.hold_in_line:
                result = await self._restock_in_line(session, book, quantity, actor_id)
            else:
                result = await self._restock_to_all(session, book, quantity, actor_id)
            return replace(result, reinstated=reinstated)

    async def _restock_to_all(
        self, session: AsyncSession, book: Book, quantity: int, actor_id: int
    ) -> Restock:
        old_stock = book.stock_quantity
        # Copies set aside under hold_in_line stay held after a switch to notify_all,
        # and readers join the line while every copy is held (reserve): the line hears
        # when free copies come back, not the stock.
        held = await HoldRepository(session).on_hold_count(book.id)
        if quantity < held:
            raise await self._below_holds(session, book)
        view = replace(book_view(book), stock_quantity=quantity)
        if not (old_stock <= held < quantity):
            await BookRepository(session).set_stock(book, quantity, actor_id)
            return Restock(view, old_stock, quantity, 0)
        messages = languages.in_each_language(lambda: self._messages.back_in_stock(view))
        restock_id = await BookRepository(session).set_stock(
            book, quantity, actor_id, messages[languages.DEFAULT]
        )
        notified = await NotificationRepository(session).notify_waiting(
            book.id, restock_id, messages, zone_name(self._zone)
        )
        return Restock(view, old_stock, quantity, notified)

    async def _restock_in_line(
        self, session: AsyncSession, book: Book, quantity: int, actor_id: int
    ) -> LineRestock:
        change = await RestockRepository(session).change_line_stock(
            book.id, book.stock_quantity, quantity, actor_id, LINE_COUNTED_UP_TO + 1
        )
        if change.restock_id is None:
            raise await self._below_holds(session, book)
        view = replace(book_view(book), stock_quantity=quantity)
        holds = HoldRepository(session)
        offered = await pass_on_free_copies(
            holds, [view], self._policy, self._zone, self._messages, change.restock_id
        )
        return LineRestock(
            view,
            book.stock_quantity,
            quantity,
            len(offered),
            min(change.waiting, LINE_COUNTED_UP_TO),
            line_longer=change.waiting > LINE_COUNTED_UP_TO,
        )

    async def _below_holds(self, session: AsyncSession, book: Book) -> StockBelowHolds:
        """The refusal of a stock below the book's copies on hold, naming them."""
        held = await HoldRepository(session).holds_of_book(book.id)
        return StockBelowHolds(book_view(book), in_shop_time(held, self._zone))
