from dataclasses import dataclass

from bot.books.schemas import BookView
from bot.errors import DomainError
from bot.holds.schemas import HoldEntry
from bot.reservations.models import ReservationStatus


@dataclass(eq=False)
class NotOnHold(DomainError):
    """Only a reservation on hold can be collected; status None: there is no such one."""

    reservation_id: int
    status: ReservationStatus | None


@dataclass(eq=False)
class StockBelowHolds(DomainError):
    """Stock counts the held copies: it may not go below them."""

    book: BookView
    holds: tuple[HoldEntry, ...]
