from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base


class MessageSlot(Base):
    """A message one of the bot's processes sent, or will send at `at`: the ledger that
    keeps all of them within one flood budget. Rows older than 10 s are deleted as new
    ones are booked (take_message_slot, migration 0007)."""

    __tablename__ = "message_slots"
    # No WAL: the rows are seconds old and worthless after a crash (migration 0007).
    __table_args__ = {"prefixes": ["UNLOGGED"]}  # noqa: RUF012

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # When Telegram answered; until then the message counts as being sent now.
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
