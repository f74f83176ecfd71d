from datetime import datetime

from sqlalchemy import DateTime, Integer, func
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base


class StaffDigest(Base):
    """A period whose digest was queued for the staff: the row is written in the same
    transaction as their messages, so however many processes see the period due, and
    however often they restart, one of them queues it, once."""

    __tablename__ = "staff_digests"

    # The moment this period's digest was due (DIGEST_AT, in the shop's time zone).
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # How many staff members it was queued for.
    recipients: Mapped[int] = mapped_column(Integer)
