"""What the special orders' rules refuse; the Telegram layer words each one."""

from dataclasses import dataclass

from bot.errors import DomainError


@dataclass(eq=False)
class RequestFieldInvalid(DomainError):
    """A title or author empty or longer than the catalog takes."""

    field: str
    limit: int


@dataclass(eq=False)
class AlreadyRequested(DomainError):
    """The reader asked for this book already: their request stands as it was."""

    request_id: int
    title: str
    author: str | None


@dataclass(eq=False)
class TooManyRequests(DomainError):
    """The reader has as many open requests as one may (MAX_OPEN_REQUESTS)."""

    limit: int


@dataclass(eq=False)
class RequestNotFound(DomainError):
    """No such request (for a reader: none of their own, still asked)."""

    request_id: int


@dataclass(eq=False)
class RequestDecided(DomainError):
    """Staff ordered or declined the request already: it can't be ordered, declined or
    withdrawn any more."""

    request_id: int
    status: str


@dataclass(eq=False)
class ExpectedDayPassed(DomainError):
    """/order's expected day is before today (the shop's)."""

    day: str


@dataclass(eq=False)
class AuthorUnknown(DomainError):
    """Asked for by ISBN, the metadata service never gave its author: staff add the book
    first (/addbook with its ISBN), then order the request."""

    request_id: int
    isbn: str | None


@dataclass(eq=False)
class DeclineReasonInvalid(DomainError):
    limit: int


@dataclass(eq=False)
class OrderedBookInStock(DomainError):
    """The catalog has the request's book with copies free on the shelf: its readers can
    have one now, no order needed (nobody waits for a book in stock)."""

    request_id: int
    book_id: int
    title: str
    author: str
    free: int
