"""Book cards (what /book, deep links and shelf tags open) and inline search."""

from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books import rules
from bot.books.errors import BookNotFound, IsbnNotFound
from bot.books.expected_wait import HISTORY, expected_day
from bot.books.isbn import isbn_in, normalised
from bot.books.repository import BookRepository, book_view
from bot.books.schemas import BookView
from bot.cards.repository import CardRepository
from bot.cards.schemas import (
    BookCard,
    BookInLine,
    InlinePage,
    Notified,
    OnHold,
    ReaderStatus,
    Waiting,
)
from bot.holds.repository import HoldRepository
from bot.pagination import PageRequest
from bot.users.repository import UserRepository
from bot.users.schemas import Reader

# Telegram shows at most 50 inline results a page.
INLINE_PAGE_SIZE = 50
# Pages counted ahead of the reader, as in the catalog: the count stays cheap.
INLINE_COUNTED_PAGES = 2
# What an empty inline query offers: a few of the books most readers wait for.
LONGEST_LINES_SHOWN = 5
# No inline page past this: Telegram's offsets come back from clients, so they are bounded.
MAX_INLINE_PAGE = 1000


class CardService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], zone: tzinfo = UTC) -> None:
        self._sessions = sessions
        self._zone = zone  # the shop's (TIMEZONE): a card's times are in it

    async def card(self, reader: Reader, book_id: int) -> BookCard:
        """The book as the reader sees it; BookNotFound when there is no such book."""
        card = await self.find_card(reader, book_id)
        if card is None:
            raise BookNotFound(book_id)
        return card

    async def card_by_isbn(self, reader: Reader, isbn_text: str) -> BookCard:
        """The card of the book with this ISBN (any form); IsbnNotFound when none has it."""
        isbn = normalised(isbn_text)
        async with self._sessions.begin() as session:
            found = await BookRepository(session).find_by_isbn(isbn)
        if found is None:
            raise IsbnNotFound(isbn)
        return await self.card(reader, found.id)

    async def find_card(self, reader: Reader, book_id: int) -> BookCard | None:
        """The book's card, or None for a book that does not exist (deep links carry
        anything); remembers the reader, as /start does."""
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).save(reader)
            found = await BookRepository(session).get(book_id)
            if found is None:
                return None
            book = book_view(found)
            cards = CardRepository(session)
            status = await cards.reader_status(user_id, book)
            if isinstance(status, Waiting):
                now = datetime.now(UTC)
                books = BookRepository(session)
                history = (await books.restock_histories([book.id], now - HISTORY))[book.id]
                status = replace(
                    status, expected_on=expected_day(history, status.place, now, self._zone)
                )
            waiting, paused = await cards.readers_in_line(book.id)
            return BookCard(
                book,
                self._in_zone(status),
                waiting,
                await HoldRepository(session).on_hold_count(book.id),
                paused,
            )

    def _in_zone(self, status: ReaderStatus) -> ReaderStatus:
        match status:
            case Waiting(since=since):
                return replace(status, since=since.astimezone(self._zone))
            case Notified(at=at):
                return replace(status, at=at.astimezone(self._zone))
            case OnHold(until=until):
                return replace(status, until=until.astimezone(self._zone))
        return status

    async def inline_page(self, query: str, page: int) -> InlinePage:
        """Books matching query, one page of them; for an empty query, the longest lines.
        Any text and any page number get an answer: a long query is searched by its
        beginning, a page out of range is empty."""
        words = rules.checked_search(query[: rules.SEARCH_MAX_LENGTH])
        async with self._sessions.begin() as session:
            cards = CardRepository(session)
            if words is None:
                if page != 1:
                    return InlinePage((), None)
                lines = await cards.longest_lines(LONGEST_LINES_SHOWN)
                return InlinePage(await self._with_holds(session, lines), None)
            if not 1 <= page <= MAX_INLINE_PAGE:
                return InlinePage((), None)
            isbn = isbn_in(words)
            if isbn is not None:  # the one book with this ISBN, or none
                book = await BookRepository(session).find_by_isbn(isbn)
                if book is None or page != 1:
                    return InlinePage((), None)
                waiting = await cards.waiting_counts([book.id])
                line = BookInLine(book_view(book), waiting.get(book.id, 0))
                return InlinePage(await self._with_holds(session, [line]), None)
            books, total, more, request = await BookRepository(session).page(
                words, PageRequest(page, INLINE_PAGE_SIZE), INLINE_COUNTED_PAGES
            )
            if request.number != page:  # past the last page
                return InlinePage((), None)
            waiting = await cards.waiting_counts([book.id for book in books])
            found = await self._with_holds(
                session, [BookInLine(book, waiting.get(book.id, 0)) for book in books]
            )
        last = request.offset + len(books) >= total and not more
        return InlinePage(found, None if last or page >= MAX_INLINE_PAGE else page + 1)

    @staticmethod
    async def _with_holds(
        session: AsyncSession, items: list[BookInLine]
    ) -> tuple[BookInLine, ...]:
        """The books with their copies on hold: a book whose copies are all held is no
        book to buy now."""
        held = await HoldRepository(session).on_hold_counts([item.book.id for item in items])
        return tuple(replace(item, on_hold=held.get(item.book.id, 0)) for item in items)

    async def books_for_tags(self, sold_out_only: bool) -> list[BookView]:
        async with self._sessions.begin() as session:
            return await CardRepository(session).books_for_tags(sold_out_only)
