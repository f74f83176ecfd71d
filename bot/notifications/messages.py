"""What the use cases' messages to readers say: the one seam between the services, which
queue messages in the outbox in the same transaction as the change they report, and the
Telegram layer, which words and formats them (bot/telegram/reader_messages.py). The
outbox so holds each message's final text, in its reader's language."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bot.books.schemas import BookView


@dataclass(frozen=True)
class OutgoingMessage:
    """A message's final text and its buttons (the Bot API's reply_markup JSON)."""

    text: str
    reply_markup: dict[str, Any] | None = None


@dataclass(frozen=True)
class HeldCopy:
    """A copy set aside for a reader: what their messages about it say."""

    reservation_id: int
    title: str
    author: str
    until: datetime  # in the shop's time zone
    # The reader's language (users.language), for their messages; None: the default.
    language: str | None = None


@dataclass(frozen=True)
class LapsedWait:
    """A reservation that lapsed after the day its reader needed the book until."""

    reservation_id: int
    book_id: int
    title: str
    author: str
    needed_until: date
    # The reader's language (users.language), for their messages; None: the default.
    language: str | None = None


@dataclass(frozen=True)
class PlaceNews:
    """A waiting reader's better place in line: what their place update says."""

    reservation_id: int
    title: str
    author: str
    place: int
    language: str | None = None  # the reader's (users.language); None: the default


@dataclass(frozen=True)
class SpecialOrderNews:
    """A reader's special order decided by staff: what its ordered (with the day copies
    are expected, if staff said) or declined (with the reason) notice says."""

    request_id: int
    title: str
    author: str | None
    expected_on: date | None = None
    reason: str | None = None


class ReaderMessages(Protocol):
    """Every message a use case queues for a reader; required by each service that queues."""

    def back_in_stock(self, book: BookView) -> str:
        """The book is back (notify_all), in the active language: a restock renders it once
        per language and stores each text once, however many readers it goes to."""
        ...

    def hold_offer(self, hold: HeldCopy) -> OutgoingMessage:
        """A copy is set aside for the reader, until hold.until."""
        ...

    def hold_reminder(self, hold: HeldCopy) -> OutgoingMessage:
        """The hold ends soon and the copy is still waiting."""
        ...

    def hold_expired(self, hold: HeldCopy) -> OutgoingMessage:
        """The hold ended uncollected; the copy went on."""
        ...

    def withdrawn(self, book: BookView) -> str:
        """Staff withdrew the book (book.withdrawn_reason) and cancelled the reader's wait,
        in the active language: rendered once per language, as back_in_stock."""
        ...

    def lapsed(self, lapse: LapsedWait) -> OutgoingMessage:
        """The reservation ended after the day the reader needed the book until."""
        ...

    def place_update(self, news: PlaceNews) -> OutgoingMessage:
        """The reader's place in line improved; with the button that stops these. The
        line's loop renders one for each reader moved up (thousands at once)."""
        ...

    def ordered(self, news: SpecialOrderNews) -> str:
        """Staff ordered the book a reader asked for: they now wait for it in line; in the
        active language, rendered once per language, as withdrawn."""
        ...

    def declined(self, news: SpecialOrderNews) -> str:
        """Staff declined the reader's request, for news.reason; rendered as ordered."""
        ...
