import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.books.models import AUTHOR_MAX_LENGTH, ISBN_LENGTH, TITLE_MAX_LENGTH
from bot.database import Base


class RequestStatus(enum.Enum):
    OPEN = "open"
    # Staff ordered it: it is a catalog book (book_id), its readers reservations.
    ORDERED = "ordered"
    DECLINED = "declined"


class BookRequest(Base):
    """A book readers asked for that the shop does not stock; readers asking for the same
    one (the same match_key) join the one open request."""

    __tablename__ = "book_requests"
    __table_args__ = (
        Index(
            "uq_book_requests_open_match_key",
            "match_key",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        CheckConstraint("status IN ('open', 'ordered', 'declined')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # The normalised ISBN-13, when the reader gave one.
    isbn: Mapped[str | None] = mapped_column(String(ISBN_LENGTH))
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    author: Mapped[str | None] = mapped_column(String(AUTHOR_MAX_LENGTH))
    # "isbn:<ISBN-13>" or "words:<folded words>": what makes two requests the same one.
    match_key: Mapped[str] = mapped_column(Text)
    # Text, not an enum type: a new status needs no ALTER TYPE.
    status: Mapped[str] = mapped_column(String(16), server_default=RequestStatus.OPEN.value)
    # The catalog book it became when ordered.
    book_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("books.id"))
    # When the ordered copies are expected, if staff said.
    expected_on: Mapped[date | None] = mapped_column(Date)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # When staff ordered or declined it, and who (their Telegram id).
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(BigInteger)


class RequestReader(Base):
    """A reader who asked for a request's book; id is the order they asked in, which their
    reservations keep when it is ordered."""

    __tablename__ = "book_request_readers"
    __table_args__ = (
        Index(
            "uq_book_request_readers_request_id_user_id",
            "request_id",
            "user_id",
            unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
        # A reader's requests, for /myreservations.
        Index("ix_book_request_readers_user_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("book_requests.id"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # The reader took their request back.
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The reservation it became when the request was ordered.
    pre_booking_id: Mapped[int | None] = mapped_column(BigInteger)
