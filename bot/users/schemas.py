from dataclasses import dataclass


@dataclass(frozen=True)
class Reader:
    """Who sent an update, as the services need to know them."""

    telegram_id: int
    chat_id: int
    username: str | None = None
    first_name: str | None = None
    # The supported language their Telegram app is set to (bot/i18n/languages.py).
    language: str | None = None


@dataclass(frozen=True)
class Registration:
    is_admin: bool
