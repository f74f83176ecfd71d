from dataclasses import dataclass

from bot.errors import DomainError


@dataclass(frozen=True)
class BookView:
    id: int
    title: str
    author: str
    stock_quantity: int
    # Why staff withdrew it (/withdraw); None while it is not withdrawn.
    withdrawn_reason: str | None = None
    # ISBN-13, digits only; None for a book added without one.
    isbn: str | None = None

    @property
    def in_stock(self) -> bool:
        return self.stock_quantity > 0

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_reason is not None

    @property
    def reservable(self) -> bool:
        """Sold out (no free copy, as shown) and not withdrawn: readers may join its line."""
        return not self.in_stock and not self.withdrawn


@dataclass(frozen=True)
class BookPage:
    """A page of books; when more is true, the matches were counted only as far as
    total (page_count pages) and more follow."""

    books: tuple[BookView, ...]
    number: int
    page_count: int
    total: int
    query: str | None
    more: bool = False


@dataclass(frozen=True)
class NewBook:
    """A book to add, already checked and tidied."""

    title: str
    author: str
    quantity: int
    # ISBN-13, digits only (bot/books/isbn.py), or None.
    isbn: str | None = None


@dataclass(frozen=True)
class RejectedRow:
    line: int
    error: DomainError


@dataclass(frozen=True)
class ImportReport:
    imported: int
    rejected: tuple[RejectedRow, ...]
