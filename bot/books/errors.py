from dataclasses import dataclass
from datetime import datetime

from bot.books.schemas import BookView
from bot.errors import DomainError


@dataclass(eq=False)
class BookNotFound(DomainError):
    book_id: int


@dataclass(eq=False)
class QuantityOutOfRange(DomainError):
    maximum: int


@dataclass(eq=False)
class BookFieldInvalid(DomainError):
    """A title or author that is empty or too long."""

    field: str
    limit: int


@dataclass(eq=False)
class DuplicateBook(DomainError):
    book_id: int
    title: str
    author: str


@dataclass(eq=False)
class SearchTooLong(DomainError):
    limit: int


@dataclass(eq=False)
class RepeatedInFile(DomainError):
    """The same title and author appear earlier in the file being imported."""

    first_line: int


@dataclass(eq=False)
class MalformedRow(DomainError):
    """A catalog file row without exactly a title, an author and a quantity (and an ISBN,
    in a file with the isbn column)."""

    field_count: int
    with_isbn: bool = False


@dataclass(eq=False)
class BookWithdrawn(DomainError):
    """Staff withdrew the book (its reason on book.withdrawn_reason): no one may join its
    line until a restock brings copies."""

    book: BookView


@dataclass(eq=False)
class AlreadyWithdrawn(DomainError):
    """A second /withdraw of a book: refused, so the reason the card shows stays the one
    its readers were told."""

    book: BookView
    since: datetime  # in the shop's time zone


@dataclass(eq=False)
class WithdrawalReasonInvalid(DomainError):
    """A reason that is empty or too long."""

    limit: int


@dataclass(eq=False)
class IsbnInvalid(DomainError):
    """Not an ISBN-10 or ISBN-13: a wrong length, a letter or a bad check digit."""

    text: str


@dataclass(eq=False)
class BookMetadataUnavailable(DomainError):
    """The metadata service did not give a title and author for the ISBN (not found, an
    error, too slow, or an answer that could not be read): staff give them instead."""

    isbn: str


@dataclass(eq=False)
class RepeatedIsbnInFile(DomainError):
    """The same ISBN appears earlier in the file being imported."""

    first_line: int


@dataclass(eq=False)
class IsbnNotFound(DomainError):
    """No book in the catalog has this ISBN-13."""

    isbn: str
