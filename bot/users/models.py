from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Identity, String, false, func, true
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base


class User(Base):
    """A Telegram user who has talked to the bot."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # Indexed: outcomes and claims look readers up by the chat a message goes to.
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Set when the reader blocks the bot or Telegram refuses our messages (deleted
    # account); cleared when they unblock or write to the bot again. Meanwhile their
    # messages are not sent (bot/notifications/reachability.py).
    unreachable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The language their messages go out in (bot/i18n/languages.py): the one they chose
    # with /language, else the one their Telegram app is set to, as last seen. Kept when
    # they block the bot, so it is still theirs when they come back.
    language: Mapped[str | None] = mapped_column(String(8))
    language_chosen: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Place updates (a message when their place in a line improves); off once they press
    # "Stop these updates".
    line_updates: Mapped[bool] = mapped_column(Boolean, server_default=true())
