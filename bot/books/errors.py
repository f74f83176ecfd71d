from dataclasses import dataclass

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
    """A catalog file row without exactly a title, an author and a quantity."""

    field_count: int
