from datetime import datetime

from sqlalchemy import BigInteger, DateTime, func
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base


class ReceivedUpdate(Base):
    """An update Telegram posted to the webhook, kept a while so that a retry reaching any
    bot process is recognised (bot/web/received_updates.py)."""

    __tablename__ = "webhook_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
