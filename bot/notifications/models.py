import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base, status_enum


class NotificationStatus(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # Never sent: a hold's offer or reminder whose hold ended while it waited
    # (bot/notifications/ended_holds.py).
    OBSOLETE = "obsolete"


class NotificationKind(enum.Enum):
    """What a message is about; a reservation gets at most one of each."""

    BACK_IN_STOCK = "back_in_stock"
    HOLD_OFFER = "hold_offer"
    HOLD_REMINDER = "hold_reminder"
    HOLD_EXPIRED = "hold_expired"
    # Issue 21: a better place in line (many per reservation, one waiting at a time), a
    # reservation lapsed after the reader's date, and a withdrawn book.
    PLACE_UPDATE = "place_update"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    # Issue 22: a reader's special order ordered (keyed by the reservation it became and
    # the reader's request) or declined (no reservation), and the staff's weekly digest
    # (about neither: staff_digests keeps it to one a period).
    ORDERED = "ordered"
    DECLINED = "declined"
    DIGEST = "digest"


class Notification(Base):
    """A message owed to a reader, written in the restock's transaction (the outbox).

    No foreign keys, on purpose: rows are written only in the transactions that change
    the very reservations they are about (a restock, a hold passed on or ended), and the
    per-row FK triggers were 0.66 s of 1.7 s for a restock of 100,000 waiting readers
    (docs/benchmarks.md).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        # What the dispatcher claims: pending rows in (next_attempt_at, id) order, so a
        # claim reads its batch off the index instead of sorting the whole backlog
        # (twice: place updates come last, outbox.py).
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        # One message of each kind per reservation, however often its step is retried;
        # place updates may be many, but only one of them waits in the outbox at a time
        # (a newer place rewrites it).
        Index(
            "uq_notifications_pre_booking_id_kind",
            "pre_booking_id",
            "kind",
            unique=True,
            postgresql_where=text("kind <> 'place_update'"),
        ),
        Index(
            "uq_notifications_pending_place_update",
            "pre_booking_id",
            unique=True,
            postgresql_where=text("kind = 'place_update' AND status = 'pending'"),
        ),
        # The digest's messages failed in the last week (bot/digest/repository.py): a
        # failed row keeps the moment it failed in next_attempt_at.
        Index(
            "ix_notifications_failed",
            "next_attempt_at",
            postgresql_where=text("status = 'failed'"),
        ),
        # One message of each kind per reader of a special order.
        Index(
            "uq_notifications_request_reader_id_kind",
            "request_reader_id",
            "kind",
            unique=True,
            postgresql_where=text("request_reader_id IS NOT NULL"),
        ),
        CheckConstraint(
            "kind IN ('back_in_stock', 'hold_offer', 'hold_reminder', 'hold_expired', "
            "'place_update', 'lapsed', 'withdrawn', 'ordered', 'declined', 'digest')",
            name="kind_known",
        ),
        CheckConstraint(
            "pre_booking_id IS NOT NULL OR request_reader_id IS NOT NULL OR kind = 'digest'",
            name="about_something",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # The restock that caused it; none for a hold passed on by a release or an expiry.
    restock_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The reservation it is about; none for a declined special order or a digest.
    pre_booking_id: Mapped[int | None] = mapped_column(BigInteger)
    # The reader's special order it is about (book_request_readers.id).
    request_reader_id: Mapped[int | None] = mapped_column(BigInteger)
    # Text, not an enum type: a new kind needs no ALTER TYPE.
    kind: Mapped[str] = mapped_column(
        String(16), server_default=NotificationKind.BACK_IN_STOCK.value
    )
    # Inline buttons under the message, as the Bot API's reply_markup JSON.
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # NULL: the restock's message (restocks.message), stored once for all its readers.
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[NotificationStatus] = mapped_column(
        status_enum(NotificationStatus, "notification_status"),
        server_default=NotificationStatus.PENDING.value,
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Which claim owns the row now; outcomes are written only under the same claim.
    claim_token: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Failed because the reader couldn't be reached (blocked the bot, chat gone): never
    # delivered, so it goes out again when they come back (bot/notifications/reachability.py).
    reader_unreachable: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
