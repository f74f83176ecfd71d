from dataclasses import dataclass
from datetime import datetime

from bot.books.schemas import BookView
from bot.reservations.models import ReservationStatus


@dataclass(frozen=True)
class ReservationView:
    id: int
    book_id: int
    title: str
    author: str
    status: ReservationStatus
    created_at: datetime
    notified_at: datetime | None
    cancelled_at: datetime | None

    @property
    def status_since(self) -> datetime:
        """When the reservation entered its current status."""
        if self.status is ReservationStatus.NOTIFIED and self.notified_at is not None:
            return self.notified_at
        if self.status is ReservationStatus.CANCELLED and self.cancelled_at is not None:
            return self.cancelled_at
        return self.created_at


@dataclass(frozen=True)
class ReservationPage:
    reservations: tuple[ReservationView, ...]
    number: int
    page_count: int
    total: int


@dataclass(frozen=True)
class Confirmation:
    """A new waiting reservation and the reader's place in the queue for the book."""

    reservation_id: int
    book: BookView
    queue_position: int


@dataclass(frozen=True)
class Cancellation:
    """The cancelled reservation and the reader's list as it now stands."""

    reservation: ReservationView
    page: ReservationPage


@dataclass(frozen=True)
class NotifiedReader:
    """A reader whose reservation became notified, and where to message them."""

    reservation_id: int
    telegram_id: int
    chat_id: int
