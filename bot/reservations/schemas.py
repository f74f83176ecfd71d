from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo

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
    hold_expires_at: datetime | None = None
    collected_at: datetime | None = None
    expired_at: datetime | None = None
    # 1 for the reader first in line; only for a waiting reservation, when asked for.
    place_in_line: int | None = None
    # The day a copy is expected (bot.books.expected_wait), for a waiting one, when known.
    expected_on: date | None = None
    # Why staff cancelled it (a withdrawn book); None when the reader did.
    cancel_reason: str | None = None
    # Paused since then (its place_in_line: where it stands when resumed); resumes by
    # itself at the start of resume_on (shop time), if set.
    paused_at: datetime | None = None
    resume_on: date | None = None
    # Only needed until the end of this day in shop time (/until); lapsed after it.
    needed_until: date | None = None
    lapsed_at: datetime | None = None

    @property
    def status_since(self) -> datetime:
        """When the reservation entered its current status."""
        since = {
            ReservationStatus.NOTIFIED: self.notified_at,
            ReservationStatus.ON_HOLD: self.notified_at,
            ReservationStatus.CANCELLED: self.cancelled_at,
            ReservationStatus.COLLECTED: self.collected_at,
            ReservationStatus.EXPIRED: self.expired_at,
            ReservationStatus.PAUSED: self.paused_at,
            ReservationStatus.LAPSED: self.lapsed_at,
        }.get(self.status)
        return since or self.created_at

    def in_zone(self, zone: tzinfo) -> "ReservationView":
        """The same reservation with its times in the shop's time zone, as shown."""
        return replace(
            self,
            created_at=self.created_at.astimezone(zone),
            notified_at=_in_zone(self.notified_at, zone),
            cancelled_at=_in_zone(self.cancelled_at, zone),
            hold_expires_at=_in_zone(self.hold_expires_at, zone),
            collected_at=_in_zone(self.collected_at, zone),
            expired_at=_in_zone(self.expired_at, zone),
            paused_at=_in_zone(self.paused_at, zone),
            lapsed_at=_in_zone(self.lapsed_at, zone),
        )


def _in_zone(moment: datetime | None, zone: tzinfo) -> datetime | None:
    return None if moment is None else moment.astimezone(zone)


@dataclass(frozen=True)
class RequestLine:
    """One of the reader's special orders (bot/special_orders/), shown with their
    reservations: open, ordered (now the reservation reservation_id) or declined."""

    request_id: int
    title: str
    author: str | None
    isbn: str | None
    status: str
    asked_at: datetime
    reservation_id: int | None = None
    expected_on: date | None = None
    decline_reason: str | None = None


@dataclass(frozen=True)
class ReservationPage:
    reservations: tuple[ReservationView, ...]
    number: int
    page_count: int
    total: int
    # On the first page: the reader's special orders, open ones first.
    requests: tuple[RequestLine, ...] = ()


@dataclass(frozen=True)
class Confirmation:
    """A new waiting reservation and the reader's place in the queue for the book."""

    reservation_id: int
    book: BookView
    queue_position: int
    # The day a copy is expected (bot.books.expected_wait), when the history allows.
    expected_on: date | None = None


@dataclass(frozen=True)
class Cancellation:
    """The cancelled reservation and the reader's list as it now stands."""

    reservation: ReservationView
    page: ReservationPage


@dataclass(frozen=True)
class RequestWithdrawal:
    """The reader took back their special order; their list as it now stands."""

    request_id: int
    title: str
    page: ReservationPage
