import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, func, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base, status_enum


class ReservationStatus(enum.Enum):
    WAITING = "waiting"
    NOTIFIED = "notified"
    CANCELLED = "cancelled"
    # Under RESTOCK_POLICY=hold_in_line (bot/holds/): a copy set aside for the reader,
    # then taken at the counter, or not taken within the pickup window.
    ON_HOLD = "on_hold"
    COLLECTED = "collected"
    EXPIRED = "expired"


# What counts against MAX_ACTIVE_RESERVATIONS: the reader still waits for the book or
# has a copy set aside (a paused reservation, when pause exists, is added here).
ACTIVE_STATUSES = (ReservationStatus.WAITING, ReservationStatus.ON_HOLD)

# A reader's live reservations of a book: at most one of them at a time.
LIVE_STATUSES = "status IN ('waiting', 'on_hold')"


class PreBooking(Base):
    """A reader waiting for an out-of-stock book, and what became of the wait."""

    __tablename__ = "pre_bookings"
    __table_args__ = (
        # At most one live (waiting or held) reservation per reader and book; the
        # history stays.
        Index(
            "uq_pre_bookings_live_user_book",
            "user_id",
            "book_id",
            unique=True,
            postgresql_where=text(LIVE_STATUSES),
        ),
        # The line for a book in order of reservation (ids are given under the book's
        # row lock, so they are the order readers joined): a restock reads its first few.
        Index(
            "ix_pre_bookings_waiting_line",
            "book_id",
            "id",
            postgresql_where=text("status = 'waiting'"),
        ),
        # What the hold expiry loop claims: held rows by deadline, and the copies on
        # hold for a book.
        Index(
            "ix_pre_bookings_holds_due",
            "hold_expires_at",
            "id",
            postgresql_where=text("status = 'on_hold'"),
        ),
        Index(
            "ix_pre_bookings_holds_of_book",
            "book_id",
            postgresql_where=text("status = 'on_hold'"),
        ),
        # Every reservation of a book that was ever given a copy, whatever its status now
        # (/deliveries' messages passed on after a release or an expiry).
        Index(
            "ix_pre_bookings_held_of_book",
            "book_id",
            postgresql_where=text("hold_expires_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    # No index on book_id alone (migration 0009): the line and the holds of a book have
    # their partial indexes above, and each full index costs every restock a write per
    # reader.
    book_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("books.id"))
    status: Mapped[ReservationStatus] = mapped_column(
        status_enum(ReservationStatus, "pre_booking_status"),
        server_default=ReservationStatus.WAITING.value,
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The one reminder before the deadline was queued then.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    collected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
