from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import cast, func, select, text, update
from sqlalchemy.dialects.postgresql import TSQUERY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.errors import BookNotFound
from bot.books.expected_wait import RestockPoint
from bot.books.folding import folded, prefix_query, search_vector
from bot.books.models import Book, RestockEvent
from bot.books.schemas import BookView, NewBook
from bot.database import is_valid_id
from bot.pagination import PageRequest

RowLock = Literal["update", "no_key_update"]


def book_view(book: Book) -> BookView:
    reason = book.withdrawn_reason if book.withdrawn_at is not None else None
    return BookView(book.id, book.title, book.author, book.stock_quantity, reason, book.isbn)


def book_row(new: NewBook) -> dict[str, Any]:
    """The columns of a new book, with the keys and words folded from its title and author."""
    return {
        "title": new.title,
        "author": new.author,
        "stock_quantity": new.quantity,
        "isbn": new.isbn,
        "title_key": folded(new.title),
        "author_key": folded(new.author),
        "search_vector": search_vector(new.title, new.author),
    }


class BookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def restock_histories(
        self, book_ids: Sequence[int], since: datetime
    ) -> dict[int, list[RestockPoint]]:
        """The stock changes since then, up and down, for all these books in one query
        (through the restocks' book_id index), by book, in time order."""
        histories: dict[int, list[RestockPoint]] = {book_id: [] for book_id in book_ids}
        if not book_ids:
            return histories
        rows = await self._session.execute(
            select(
                RestockEvent.book_id,
                RestockEvent.created_at,
                RestockEvent.new_stock - RestockEvent.old_stock,
            )
            .where(RestockEvent.book_id.in_(book_ids))
            .where(RestockEvent.created_at >= since)
            .where(RestockEvent.new_stock != RestockEvent.old_stock)
            .order_by(RestockEvent.created_at, RestockEvent.id)
        )
        for book_id, at, copies in rows:
            histories[book_id].append(RestockPoint(at, copies))
        return histories

    async def get(self, book_id: int, lock: RowLock | None = None) -> Book | None:
        """The book, optionally row-locked (FOR UPDATE or FOR NO KEY UPDATE) to serialize."""
        if not is_valid_id(book_id):
            return None
        statement = select(Book).where(Book.id == book_id)
        if lock == "update":
            statement = statement.with_for_update()
        elif lock == "no_key_update":
            statement = statement.with_for_update(key_share=True)
        return await self._session.scalar(statement)

    async def get_existing(self, book_id: int, lock: RowLock | None = None) -> Book:
        """The book, locked as get locks it; BookNotFound when there is no such book."""
        book = await self.get(book_id, lock)
        if book is None:
            raise BookNotFound(book_id)
        return book

    async def page(
        self, query: str | None, request: PageRequest, counted_pages: int
    ) -> tuple[Sequence[BookView], int, bool, PageRequest]:
        """One page of the catalog (or of the books having a word that starts with each
        word of query, in title or author), the matches counted up to the end of the
        page's window of counted_pages pages, and whether more follow."""
        matching = select(Book)
        if query is not None:
            words = prefix_query(query)
            if words is None:  # nothing but punctuation: nothing can match
                return [], 0, False, request.clamped(0)
            matching = matching.where(Book.search_vector.op("@@")(cast(words, TSQUERY)))
            # The best plan depends on how common the words are, so plan each search
            # for its own words: after five searches PostgreSQL would otherwise reuse
            # a generic plan, and a rare word's plan made `the` twice as slow.
            await self._session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        limit = request.counting_limit(counted_pages)
        counted = matching.with_only_columns(Book.id, Book.title_key).limit(limit).subquery()
        ids = list(
            await self._session.scalars(
                select(counted.c.id).order_by(counted.c.title_key, counted.c.id)
            )
        )
        if len(ids) == limit:
            # Many matches: walking the title index meets the page's few soon.
            total = limit - 1
            books = await self._session.scalars(
                matching.order_by(Book.title_key, Book.id)
                .offset(request.offset)
                .limit(request.size)
            )
            return [book_view(book) for book in books], total, True, request
        # All the matches are in hand, sorted: the page is a slice of them, so the
        # planner cannot misjudge a few matches as many and walk the whole title index.
        request = request.clamped(len(ids))
        page_ids = ids[request.offset : request.offset + request.size]
        books = await self._session.scalars(
            select(Book).where(Book.id.in_(page_ids)).order_by(Book.title_key, Book.id)
        )
        return [book_view(book) for book in books], len(ids), False, request

    async def find_same(self, title: str, author: str) -> Book | None:
        """The book with this title and author, ignoring case."""
        return await self._session.scalar(
            select(Book).where(Book.title_key == folded(title), Book.author_key == folded(author))
        )

    async def find_by_isbn(self, isbn: str) -> Book | None:
        """The book with this ISBN-13 (through the unique index uq_books_isbn)."""
        return await self._session.scalar(select(Book).where(Book.isbn == isbn))

    async def add(self, new: NewBook) -> Book | None:
        """The new book, or None when one with the same title and author, or the same
        ISBN, exists."""
        return await self._session.scalar(
            insert(Book).values(book_row(new)).on_conflict_do_nothing().returning(Book)
        )

    async def add_many(self, books: Sequence[NewBook]) -> set[tuple[str, str]]:
        """Add the books not yet in the catalog; return the (title, author) of those added."""
        if not books:
            return set()
        added = await self._session.execute(
            insert(Book).on_conflict_do_nothing().returning(Book.title, Book.author),
            [book_row(book) for book in books],
        )
        return {(title, author) for title, author in added}

    async def set_stock(
        self, book: Book, quantity: int, admin_telegram_id: int, message: str | None = None
    ) -> int:
        """Change the stock and log it, with the back-in-stock message it sends, if any;
        return the log entry's id."""
        restock = RestockEvent(
            book_id=book.id,
            old_stock=book.stock_quantity,
            new_stock=quantity,
            admin_telegram_id=admin_telegram_id,
            message=message,
        )
        book.stock_quantity = quantity
        self._session.add(restock)
        await self._session.flush()
        return restock.id

    async def withdraw(self, book: Book, reason: str, admin_telegram_id: int, message: str) -> int:
        """Mark the (locked) book withdrawn with the reason, and log it in the book's stock
        log as an entry that leaves the stock as it was, carrying the default language's
        notice: its outbox rows point to that entry as a restock's do (one text stored
        once; /deliveries finds them through the same index). Return the entry's id."""
        book.withdrawn_at = func.now()
        book.withdrawn_reason = reason
        restock_id = await self.set_stock(book, book.stock_quantity, admin_telegram_id, message)
        # The database's time, as shown by AlreadyWithdrawn.
        await self._session.refresh(book, ["withdrawn_at"])
        return restock_id

    async def reinstate(self, book: Book) -> None:
        """The (locked) book is withdrawn no more: it may be reserved again."""
        book.withdrawn_at = None
        book.withdrawn_reason = None
        await self._session.flush()

    async def mark_line_moved(self, book_ids: Sequence[int]) -> None:
        """Someone left these books' lines (cancelled, paused, lapsed, took a copy): the
        line's loop tells the readers behind their new places (bot/line/place_updates.py).
        Call it with the books already locked, as everything that moves a line has them."""
        if book_ids:
            await self._session.execute(
                update(Book)
                .where(Book.id.in_(book_ids))
                # Not yet marked, or marked for a later look (place_repository.py's retry).
                .where(Book.line_moved_at.is_(None) | (Book.line_moved_at > func.now()))
                # The book itself did not change: its updated_at stays.
                .values(line_moved_at=func.now(), updated_at=Book.updated_at)
                .execution_options(synchronize_session=False)
            )

    async def latest_restock_id(self, book_id: int) -> int | None:
        """The book's most recent restock that told its line (the one that brought its
        copies back): a later change of a stock already in hand has no message to share,
        and a withdrawal's entry (the stock unchanged) carries its notice, not the news."""
        return await self._session.scalar(
            select(RestockEvent.id)
            .where(RestockEvent.book_id == book_id)
            .where(RestockEvent.message.is_not(None))
            .where(RestockEvent.new_stock > RestockEvent.old_stock)
            .order_by(RestockEvent.id.desc())
            .limit(1)
        )
