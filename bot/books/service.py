from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books import rules
from bot.books.errors import (
    DuplicateBook,
    MalformedRow,
    QuantityOutOfRange,
    RepeatedInFile,
)
from bot.books.folding import folded
from bot.books.repository import BookRepository, book_view
from bot.books.schemas import BookPage, BookView, ImportReport, NewBook, RejectedRow
from bot.errors import DomainError
from bot.pagination import PageRequest, page_count
from bot.users.admins import Admins

BOOKS_PAGE_SIZE = 5
# Pages of matches counted ahead of the reader. Below this many the matches are sorted
# in hand; above it they are at least this dense, so the title index finds a page soon.
COUNTED_PAGES = 100


@dataclass(frozen=True)
class CatalogRow:
    """One row of a catalog file, as read, before any checks."""

    line: int
    fields: tuple[str, ...]


class BookService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
    ) -> None:
        self._sessions = sessions
        self._admins = admins

    async def list_books(self, page: int = 1, query: str | None = None) -> BookPage:
        """One page of the catalog, or of the books where each word of query begins a
        word of the title or author."""
        query = rules.checked_search(query)
        async with self._sessions.begin() as session:
            books, total, more, request = await BookRepository(session).page(
                query, PageRequest(page, BOOKS_PAGE_SIZE), COUNTED_PAGES
            )
        return BookPage(
            tuple(books), request.number, page_count(total, request.size), total, query, more
        )

    async def add_book(self, actor_id: int, title: str, author: str, quantity: int) -> BookView:
        """Add a title to the catalog (staff only); the same title and author twice is refused."""
        self._admins.require(actor_id)
        new = rules.checked_new_book(title, author, quantity)
        async with self._sessions.begin() as session:
            books = BookRepository(session)
            book = await books.add(new)
            if book is None:
                raise await self._duplicate_of(books, new)
            return book_view(book)

    async def import_books(self, rows: Iterable[CatalogRow]) -> ImportReport:
        """Add every acceptable row in one transaction; report the others by line."""
        accepted: dict[tuple[str, str], tuple[int, NewBook]] = {}
        rejected: list[RejectedRow] = []
        for row in rows:
            try:
                new = self._checked_row(row)
                key = (folded(new.title), folded(new.author))
                if key in accepted:
                    raise RepeatedInFile(accepted[key][0])
            except DomainError as error:
                rejected.append(RejectedRow(row.line, error))
                continue
            accepted[key] = (row.line, new)
        async with self._sessions.begin() as session:
            books = BookRepository(session)
            added = await books.add_many([new for _, new in accepted.values()])
            for line, new in accepted.values():
                if (new.title, new.author) not in added:
                    rejected.append(RejectedRow(line, await self._duplicate_of(books, new)))
        return ImportReport(len(added), tuple(sorted(rejected, key=lambda row: row.line)))

    @staticmethod
    async def _duplicate_of(books: BookRepository, new: NewBook) -> DuplicateBook:
        same = await books.find_same(new.title, new.author)
        assert same is not None  # the unique index refused new because of it
        return DuplicateBook(same.id, same.title, same.author)

    @staticmethod
    def _checked_row(row: CatalogRow) -> NewBook:
        if len(row.fields) != 3:
            raise MalformedRow(len(row.fields))
        title, author, quantity = row.fields
        quantity = quantity.strip()
        if not (quantity.isascii() and quantity.isdigit()) or len(quantity) > 9:
            raise QuantityOutOfRange(rules.MAX_STOCK)
        return rules.checked_new_book(title, author, int(quantity))
