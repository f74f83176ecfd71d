from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books import rules
from bot.books.errors import (
    BookMetadataUnavailable,
    DuplicateBook,
    MalformedRow,
    QuantityOutOfRange,
    RepeatedInFile,
    RepeatedIsbnInFile,
)
from bot.books.folding import folded
from bot.books.isbn import looks_like_isbn, normalised
from bot.books.metadata import MetadataSource, looked_up
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
    # The file has the isbn column (title,author,quantity,isbn); it may be left off a row.
    with_isbn: bool = False


class BookService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
        metadata: MetadataSource | None = None,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._metadata = metadata or MetadataSource()

    async def list_books(
        self, page: int = 1, query: str | None = None, size: int = BOOKS_PAGE_SIZE
    ) -> BookPage:
        """One page of the catalog, or of the books where each word of query begins a
        word of the title or author; size books a page (the chat's five, the Mini App's
        grid more)."""
        query = rules.checked_search(query)
        if query is not None and looks_like_isbn(query):
            return await self._isbn_page(query)
        # As many matches counted for a larger page as for the chat's: the same rows
        # decide between sorting in hand and walking the title index.
        counted_pages = max(1, COUNTED_PAGES * BOOKS_PAGE_SIZE // size)
        async with self._sessions.begin() as session:
            books, total, more, request = await BookRepository(session).page(
                query, PageRequest(page, size), counted_pages
            )
        return BookPage(
            tuple(books), request.number, page_count(total, request.size), total, query, more
        )

    async def book(self, book_id: int) -> BookView:
        """One book of the catalog; BookNotFound when there is no such book."""
        async with self._sessions.begin() as session:
            return book_view(await BookRepository(session).get_existing(book_id))

    async def _isbn_page(self, query: str) -> BookPage:
        """A search for an ISBN: the one book that has it, or none."""
        isbn = normalised(query)
        async with self._sessions.begin() as session:
            found = await BookRepository(session).find_by_isbn(isbn)
        books = () if found is None else (book_view(found),)
        return BookPage(books, 1, 1, len(books), query)

    async def add_book(
        self, actor_id: int, title: str, author: str, quantity: int, isbn: str | None = None
    ) -> BookView:
        """Add a title to the catalog (staff only); the same title and author, or the same
        ISBN, twice is refused."""
        self._admins.require(actor_id)
        return await self._add(rules.checked_new_book(title, author, quantity, isbn))

    async def add_book_by_isbn(self, actor_id: int, isbn_text: str, quantity: int) -> BookView:
        """Add the book with this ISBN, its title and author from the metadata service (or
        its cached answer); BookMetadataUnavailable, and nothing written, when it gives
        none."""
        self._admins.require(actor_id)
        isbn = normalised(isbn_text)
        quantity = rules.checked_quantity(quantity)
        async with self._sessions.begin() as session:
            books = BookRepository(session)
            same = await books.find_by_isbn(isbn)
            if same is not None:  # known already: no need to ask the service
                raise DuplicateBook(same.id, same.title, same.author)
        metadata = await looked_up(self._sessions, self._metadata, isbn)
        if metadata is None or metadata.title is None or metadata.author is None:
            raise BookMetadataUnavailable(isbn)
        return await self._add(
            rules.checked_new_book(metadata.title, metadata.author, quantity, isbn)
        )

    async def _add(self, new: NewBook) -> BookView:
        async with self._sessions.begin() as session:
            books = BookRepository(session)
            book = await books.add(new)
            if book is None:
                raise await self._duplicate_of(books, new)
            return book_view(book)

    async def import_books(self, rows: Iterable[CatalogRow]) -> ImportReport:
        """Add every acceptable row in one transaction; report the others by line."""
        accepted: dict[tuple[str, str], tuple[int, NewBook]] = {}
        isbn_lines: dict[str, int] = {}
        rejected: list[RejectedRow] = []
        for row in rows:
            try:
                new = self._checked_row(row)
                key = (folded(new.title), folded(new.author))
                if key in accepted:
                    raise RepeatedInFile(accepted[key][0])
                if new.isbn is not None:
                    if new.isbn in isbn_lines:
                        raise RepeatedIsbnInFile(isbn_lines[new.isbn])
                    isbn_lines[new.isbn] = row.line
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
        same = await books.find_by_isbn(new.isbn) if new.isbn is not None else None
        if same is None:
            same = await books.find_same(new.title, new.author)
        assert same is not None  # a unique index refused new because of it
        return DuplicateBook(same.id, same.title, same.author)

    @staticmethod
    def _checked_row(row: CatalogRow) -> NewBook:
        if len(row.fields) not in ((3, 4) if row.with_isbn else (3,)):
            raise MalformedRow(len(row.fields), row.with_isbn)
        title, author, quantity, *isbn = row.fields
        quantity = quantity.strip()
        if not (quantity.isascii() and quantity.isdigit()) or len(quantity) > 9:
            raise QuantityOutOfRange(rules.MAX_STOCK)
        return rules.checked_new_book(title, author, int(quantity), isbn[0] if isbn else None)
