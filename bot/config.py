"""Settings read from the environment and a `.env` file."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.exc import ArgumentError

from bot.database import async_database_url

TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


def default_data_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data when no DATABASE_URL is given."""
    return Path.home() / ".local" / "share" / "bookstore-bot"


class Settings(BaseSettings):
    """Everything the bot can be configured with."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    telegram_base_url: str | None = None
    data_dir: Path = default_data_dir()
    log_level: str = "INFO"
    # Telegram allows a bot about 30 messages a second; all of ours, replies included.
    messages_per_second: float = Field(default=29.0, gt=0, le=30)
    # How long a claimed notification stays with one bot process before another may
    # take it over (after a crash); a claim is normally done within a few seconds.
    notification_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    # A back-in-stock message not delivered by then (Telegram away that long) is given up.
    notification_max_age: timedelta = Field(default=timedelta(days=3), gt=timedelta(0))
    # Back-in-stock and hold messages sent as paid broadcasts (allow_paid_broadcast), up
    # to paid_messages_per_second per process: Telegram charges 0.1 Star per message
    # beyond the free limit. Replies are unaffected.
    paid_broadcast: bool = False
    paid_messages_per_second: float = Field(default=1000.0, gt=0, le=1000)
    # false: this process only delivers notifications; another one polls for updates
    # (Telegram gives a bot's updates to one getUpdates caller at a time).
    poll_updates: bool = True

    @field_validator("bot_token")
    @classmethod
    def token_has_botfather_shape(cls, token: SecretStr | None) -> SecretStr | None:
        # The message must not echo the value: a near-miss token is still a secret.
        if token is not None and not TOKEN_SHAPE.match(token.get_secret_value()):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return token

    @field_validator("database_url")
    @classmethod
    def postgresql_url(cls, url: str | None) -> str | None:
        if url:
            try:
                async_database_url(url)
            except ArgumentError:
                raise ValueError(
                    "is not a database URL (postgresql://user:pass@host/db)"
                ) from None
        return url or None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def split_admin_ids(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        ids: set[int] = set()
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.lstrip("-").isdigit():
                raise ValueError(f"{part!r} is not a Telegram user id")
            ids.add(int(part))
        return frozenset(ids)

    @field_validator("log_level")
    @classmethod
    def known_log_level(cls, level: str) -> str:
        level = level.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level


class SettingsError(Exception):
    """Configuration that cannot be used; its message is one line fit for a terminal."""


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one line without input values."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']).upper()}: "
            f"{problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors(include_input=False)
        )
        raise SettingsError(f"invalid configuration: {problems}") from None
