"""Readers' special orders: a reader asks for a book the shop does not stock (/request),
readers asking for the same one join one request in the order they asked, and staff
order it (it becomes a catalog book, its readers its line, in that order) or decline it,
each reader told through the outbox in their language.

Lock order: the reader's row (their upsert), then the request's row; /order takes the
request's row, then the book's (as a restock does), then the readers' reservations."""

from dataclasses import replace
from datetime import date, datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books import rules
from bot.books.errors import BookWithdrawn
from bot.books.folding import search_words
from bot.books.isbn import hyphenated, normalised
from bot.books.metadata import MetadataSource, looked_up
from bot.books.models import AUTHOR_MAX_LENGTH, TITLE_MAX_LENGTH, Book
from bot.books.repository import BookRepository, book_view
from bot.books.schemas import NewBook
from bot.database import is_valid_id
from bot.i18n import languages
from bot.notifications.messages import ReaderMessages, SpecialOrderNews
from bot.special_orders.errors import (
    AlreadyRequested,
    AuthorUnknown,
    DeclineReasonInvalid,
    ExpectedDayPassed,
    OrderedBookInStock,
    RequestDecided,
    RequestFieldInvalid,
    RequestNotFound,
    TooManyRequests,
)
from bot.special_orders.models import BookRequest, RequestStatus
from bot.special_orders.repository import RequestRepository
from bot.special_orders.schemas import (
    AskedFor,
    DeclineReport,
    InCatalog,
    OrderReport,
    Requested,
    RequestsPage,
)
from bot.users.admins import Admins
from bot.users.repository import UserRepository
from bot.users.schemas import Reader

# Open requests one reader may have at once: enough for a shopping list, not a catalog.
MAX_OPEN_REQUESTS = 10
# As long as a withdrawal's reason: it sits beside the book's name in each notice.
DECLINE_REASON_MAX_LENGTH = 200
REQUESTS_PAGE_SIZE = 5


def match_key(asked: AskedFor) -> str:
    """What makes two readers' requests the same one: the ISBN, or the folded words of
    the title and author (case, accents, punctuation and spacing aside)."""
    if asked.isbn is not None:
        return f"isbn:{asked.isbn}"
    title = " ".join(search_words(asked.title or ""))
    author = " ".join(search_words(asked.author or ""))
    return f"words:{title}|{author}"


def checked_request(isbn_text: str | None, title: str, author: str) -> AskedFor:
    """A reader's /request, tidied: an ISBN normalised (IsbnInvalid), or a title and an
    author of the catalog's lengths with a word in each."""
    if isbn_text is not None:
        return AskedFor(normalised(isbn_text), None, None)
    title, author = rules.tidy(title), rules.tidy(author)
    if not search_words(title) or len(title) > TITLE_MAX_LENGTH:
        raise RequestFieldInvalid("title", TITLE_MAX_LENGTH)
    if not search_words(author) or len(author) > AUTHOR_MAX_LENGTH:
        raise RequestFieldInvalid("author", AUTHOR_MAX_LENGTH)
    return AskedFor(None, title, author)


class SpecialOrderService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
        messages: ReaderMessages,
        metadata: MetadataSource,
        zone: tzinfo,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._messages = messages
        self._metadata = metadata
        self._zone = zone  # the shop's (TIMEZONE): /order's "today", /requests' times

    async def request(
        self, reader: Reader, isbn_text: str | None, title: str = "", author: str = ""
    ) -> InCatalog | Requested:
        """A book the catalog has (same ISBN, or same title and author): its id, for the
        card. Else the reader joins the open request for it (created if none), its
        details from the metadata service for an ISBN (or the ISBN alone when the
        service fails). Asking twice changes nothing (AlreadyRequested)."""
        asked = checked_request(isbn_text, title, author)
        key = match_key(asked)
        async with self._sessions.begin() as session:
            in_catalog = await self._in_catalog(BookRepository(session), asked)
            requests = RequestRepository(session)
            known = await requests.find_open(key)
            asking = await requests.open_count_of(reader.telegram_id)
        if in_catalog is not None:
            return InCatalog(in_catalog.id)
        if asked.isbn is not None and known is None:
            # A reader who may ask for no more is refused before the shop asks the
            # service for them (and waits up to its timeout); _join checks it for good.
            if asking >= MAX_OPEN_REQUESTS:
                raise TooManyRequests(MAX_OPEN_REQUESTS)
            # Only the request's first reader makes the shop ask the service.
            metadata = await looked_up(self._sessions, self._metadata, asked.isbn)
            if metadata is not None and metadata.found:
                asked = AskedFor(asked.isbn, metadata.title, metadata.author)
                async with self._sessions.begin() as session:
                    same = await BookRepository(session).find_same(
                        metadata.title or "", metadata.author or ""
                    )
                if same is not None:
                    return InCatalog(same.id)
        if asked.title is None:
            assert asked.isbn is not None
            # The service failed: recorded under the ISBN, as printed on a book.
            asked = AskedFor(asked.isbn, known.title if known else hyphenated(asked.isbn), None)
        return await self._join(reader, key, asked)

    async def _join(self, reader: Reader, key: str, asked: AskedFor) -> InCatalog | Requested:
        async with self._sessions.begin() as session:
            # The reader's row first: their requests take turns, so the count holds.
            user_id = await UserRepository(session).save(reader)
            requests = RequestRepository(session)
            # The request's row next: its readers join it one at a time, in order.
            request = await requests.lock_open(key)
            if request is None:
                # None open: maybe staff ordered it while we waited for its row (or added
                # the book since we looked): then the book is in the catalog, its card
                # the answer, as for a reader who asks a moment later.
                book = await self._in_catalog(BookRepository(session), asked)
                if book is None and asked.isbn is not None and asked.author is not None:
                    book = await BookRepository(session).find_same(asked.title or "", asked.author)
                if book is not None:
                    return InCatalog(book.id)
            if request is not None and await requests.asked_by(user_id, request.id):
                raise AlreadyRequested(request.id, request.title, request.author)
            # Checked before anything is written: a refusal uses up no request number.
            if await requests.open_count(user_id) >= MAX_OPEN_REQUESTS:
                raise TooManyRequests(MAX_OPEN_REQUESTS)
            if request is None:
                await requests.create(key, asked)
                # Ours, or the one another reader made at the same moment.
                request = await requests.lock_open(key)
                assert request is not None
            row_id = await requests.add_reader(request.id, user_id)
            place = await requests.place(request.id, row_id)
            return Requested(request.id, request.title, request.author, request.isbn, place)

    @staticmethod
    async def _in_catalog(books: BookRepository, asked: AskedFor) -> Book | None:
        if asked.isbn is not None:
            return await books.find_by_isbn(asked.isbn)
        return await books.find_same(asked.title or "", asked.author or "")

    async def open_requests(self, actor_id: int, page: int = 1) -> RequestsPage:
        """Staff's /requests: open requests, the most wanted first, one page of them."""
        self._admins.require(actor_id)
        page = max(page, 1)
        async with self._sessions.begin() as session:
            found = await RequestRepository(session).open_requests(page * REQUESTS_PAGE_SIZE + 1)
        start = (page - 1) * REQUESTS_PAGE_SIZE
        # Since when, in the shop's time zone (as /demand shows them).
        shown = tuple(
            replace(request, created_at=request.created_at.astimezone(self._zone))
            for request in found[start : start + REQUESTS_PAGE_SIZE]
        )
        return RequestsPage(shown, page, len(found) > start + REQUESTS_PAGE_SIZE)

    async def order(
        self,
        actor_id: int,
        request_id: int,
        isbn_text: str | None = None,
        expected_on: date | None = None,
    ) -> OrderReport:
        """Staff ordered the book: in one transaction the request becomes a catalog book
        (an existing one with its ISBN, or title and author, else a new one with 0 in
        stock), each reader still asking a waiting reservation of it in the order they
        asked, and each told (with the day copies are expected, if given)."""
        self._admins.require(actor_id)
        day = expected_on
        if day is not None and day < datetime.now(self._zone).date():
            raise ExpectedDayPassed(day.isoformat())
        isbn = normalised(isbn_text) if isbn_text is not None else None
        request = await self._open_request(request_id)
        isbn = isbn or request.isbn
        title, author = request.title, request.author
        if isbn is not None and (author is None or isbn != request.isbn):
            metadata = await looked_up(self._sessions, self._metadata, isbn)
            if metadata is not None and metadata.found:
                title, author = metadata.title or title, metadata.author
        async with self._sessions.begin() as session:
            requests = RequestRepository(session)
            locked = await requests.get(request_id, lock=True)
            assert locked is not None  # requests are never deleted
            if locked.status != RequestStatus.OPEN.value:
                raise RequestDecided(request_id, locked.status)
            books = BookRepository(session)
            book = await books.find_by_isbn(isbn) if isbn is not None else None
            if book is None and author is not None:
                book = await books.find_same(title, author)
            if book is None:
                if author is None:
                    raise AuthorUnknown(request_id, isbn)
                new = rules.checked_new_book(title, author, 0, isbn)
                book = await books.add(NewBook(new.title, new.author, 0, new.isbn))
                if book is None:  # added by staff meanwhile
                    book = await books.find_by_isbn(isbn) if isbn else None
                    book = book or await books.find_same(title, author)
                    assert book is not None
            # As a restock: orders us against reserves and the hold loop.
            book = await books.get_existing(book.id, lock="update")
            if book.withdrawn_at is not None:
                raise BookWithdrawn(book_view(book))
            free = await requests.free_copies(book.id, book.stock_quantity)
            if free > 0:
                # Nobody waits for a book on the shelf: the readers may have it now.
                raise OrderedBookInStock(request_id, book.id, book.title, book.author, free)
            news = SpecialOrderNews(request_id, book.title, book.author, day)
            messages = languages.in_each_language(lambda: self._messages.ordered(news))
            reserved, already = await requests.reserve_readers(request_id, book.id, messages)
            await requests.mark_ordered(locked, book.id, day, actor_id)
            return OrderReport(
                request_id, book.id, book.title, book.author, reserved, already, day
            )

    async def decline(self, actor_id: int, request_id: int, reason: str) -> DeclineReport:
        """Staff declined the request for the reason: each reader still asking is told,
        in their language. One transaction."""
        self._admins.require(actor_id)
        reason = rules.tidy(reason)
        if not reason or len(reason) > DECLINE_REASON_MAX_LENGTH:
            raise DeclineReasonInvalid(DECLINE_REASON_MAX_LENGTH)
        async with self._sessions.begin() as session:
            requests = RequestRepository(session)
            request = (
                await requests.get(request_id, lock=True) if is_valid_id(request_id) else None
            )
            if request is None:
                raise RequestNotFound(request_id)
            if request.status != RequestStatus.OPEN.value:
                raise RequestDecided(request_id, request.status)
            news = SpecialOrderNews(request_id, request.title, request.author, reason=reason)
            messages = languages.in_each_language(lambda: self._messages.declined(news))
            told = await requests.decline(request, reason, actor_id, messages)
            return DeclineReport(request_id, request.title, request.author, told)

    async def _open_request(self, request_id: int) -> BookRequest:
        async with self._sessions.begin() as session:
            request = (
                await RequestRepository(session).get(request_id)
                if is_valid_id(request_id)
                else None
            )
        if request is None:
            raise RequestNotFound(request_id)
        if request.status != RequestStatus.OPEN.value:
            raise RequestDecided(request_id, request.status)
        return request
