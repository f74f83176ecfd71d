from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class OpenRequest:
    """An open special order as staff see it: /requests, /demand and the digest."""

    id: int
    title: str
    author: str | None
    isbn: str | None
    # Readers who asked and have not withdrawn.
    readers: int
    # When the first of them asked.
    created_at: datetime


@dataclass(frozen=True)
class AskedFor:
    """What a reader's /request named, checked: an ISBN-13, or a title and author."""

    isbn: str | None
    title: str | None
    author: str | None


@dataclass(frozen=True)
class InCatalog:
    """/request of a book the catalog has: the reader gets its card."""

    book_id: int


@dataclass(frozen=True)
class Requested:
    """The reader's request recorded: joined to a request (new, or others' already), the
    how-manieth reader to ask."""

    request_id: int
    title: str
    author: str | None
    isbn: str | None
    place: int


@dataclass(frozen=True)
class OrderReport:
    """What /order did: the catalog book the request became, the readers put in its line
    (and told), those who were waiting already."""

    request_id: int
    book_id: int
    title: str
    author: str
    reserved: int
    already_waiting: int
    expected_on: date | None


@dataclass(frozen=True)
class DeclineReport:
    request_id: int
    title: str
    author: str | None
    told: int


@dataclass(frozen=True)
class RequestsPage:
    """A page of open requests for staff (/requests)."""

    requests: tuple[OpenRequest, ...]
    number: int
    more: bool
