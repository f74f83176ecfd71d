import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
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
    # Keeps its place (its id) but is skipped by restocks until resumed (issue 21).
    PAUSED = "paused"
    # Not needed after the reader's date (needed_until): kept as history.
    LAPSED = "lapsed"


# What counts against MAX_ACTIVE_RESERVATIONS: the reader still waits for the book
# (paused or not) or has a copy set aside.
ACTIVE_STATUSES = (ReservationStatus.WAITING, ReservationStatus.PAUSED, ReservationStatus.ON_HOLD)

# A reader's live reservations of a book: at most one of them at a time.
LIVE_STATUSES = "status IN ('waiting', 'paused', 'on_hold')"


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
        # A book's paused readers (a withdrawal cancels them with the waiting ones).
        Index(
            "ix_pre_bookings_paused_line",
            "book_id",
            "id",
            postgresql_where=text("status = 'paused'"),
        ),
        # What the line's loop resumes and lapses, by day.
        Index(
            "ix_pre_bookings_resume_due",
            "resume_on",
            postgresql_where=text("status = 'paused' AND resume_on IS NOT NULL"),
        ),
        Index(
            "ix_pre_bookings_lapse_due",
            "needed_until",
            postgresql_where=text("status IN ('waiting', 'paused') AND needed_until IS NOT NULL"),
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
    # Paused since then; resumes by itself at the start of resume_on (shop time), if set.
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resume_on: Mapped[date | None] = mapped_column(Date)
    # Only needed until the end of this day (shop time): lapses after it, and a copy set
    # aside is held no later.
    needed_until: Mapped[date | None] = mapped_column(Date)
    lapsed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why staff cancelled it (a withdrawn book); NULL when the reader did.
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The place in line the reader was last told (on reserving or in a place update), and
    # when the last update was queued: at most one a day.
    place_told: Mapped[int | None] = mapped_column(Integer)
    place_told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
