import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, func, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base, status_enum


class ReservationStatus(enum.Enum):
    WAITING = "waiting"
    NOTIFIED = "notified"
    CANCELLED = "cancelled"


class PreBooking(Base):
    """A reader waiting for an out-of-stock book, and what became of the wait."""

    __tablename__ = "pre_bookings"
    __table_args__ = (
        # At most one waiting reservation per reader and book; the history stays.
        Index(
            "uq_pre_bookings_waiting_user_book",
            "user_id",
            "book_id",
            unique=True,
            postgresql_where=text("status = 'waiting'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id"), index=True)
    status: Mapped[ReservationStatus] = mapped_column(
        status_enum(ReservationStatus, "pre_booking_status"),
        server_default=ReservationStatus.WAITING.value,
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
