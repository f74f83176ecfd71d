"""Every table, imported in one place for alembic and the tests."""

from bot.books.models import Book, BookMetadata, RestockEvent
from bot.database import Base
from bot.delivery.flood_budget.models import MessageSlot
from bot.digest.models import StaffDigest
from bot.notifications.models import Notification, NotificationStatus
from bot.reservations.models import PreBooking, ReservationStatus
from bot.special_orders.models import BookRequest, RequestReader
from bot.users.models import User
from bot.web.models import ReceivedUpdate

__all__ = [
    "Base",
    "Book",
    "BookMetadata",
    "BookRequest",
    "MessageSlot",
    "Notification",
    "NotificationStatus",
    "PreBooking",
    "ReceivedUpdate",
    "RequestReader",
    "ReservationStatus",
    "RestockEvent",
    "StaffDigest",
    "User",
]
