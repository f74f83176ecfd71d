"""Settings read from the environment and a `.env` file."""

import re
from datetime import date, timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.exc import ArgumentError

from bot.addresses import (
    DEFAULT_METRICS_ALLOW,
    MINI_APP_PATH,
    RESERVED_PATHS,
    Networks,
    web_address,
    webhook_path,
)
from bot.database import async_database_url
from bot.opening_hours import WeeklyTime, parse_schedule

TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
WEBHOOK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")


def default_data_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data when no DATABASE_URL is given."""
    return Path.home() / ".local" / "share" / "bookstore-bot"


# ADMIN_IDS, the hold policy and TIMEZONE are not among them: the playground runs them too.
PRODUCTION_ONLY = (
    "database_url",
    "database_wait_seconds",
    "telegram_base_url",
    "webhook_url",
    "webhook_secret",
    "webhook_listen",
    "webhook_port",
    "http_port",
    "paid_broadcast",
    "paid_messages_per_second",
    "poll_updates",
    "metrics_allow",
    "notification_lease_seconds",
    "notification_max_age",
)


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
    # Durations here take seconds or ISO 8601 alike (seconds_or_iso_duration).
    notification_max_age: timedelta = Field(default=timedelta(days=3), gt=timedelta(0))
    # Holds (bot/holds/): notify_all tells every waiting reader on a 0 → N restock;
    # hold_in_line sets copies aside for the first readers in line, for PICKUP_WINDOW,
    # with one reminder PICKUP_REMINDER before the end.
    restock_policy: Literal["notify_all", "hold_in_line"] = "notify_all"
    pickup_window: timedelta = Field(default=timedelta(days=2), gt=timedelta(0))
    pickup_reminder: timedelta = Field(default=timedelta(days=1), ge=timedelta(0))
    # How many reservations one reader may have waiting or set aside at once; 0: no limit.
    max_active_reservations: int = Field(default=25, ge=0)
    # /demand's suggested order: copies enough for at most this many readers per copy
    # (waiting, paused or on hold); Koha's default is 3.
    hold_ratio_target: float = Field(default=3, gt=0, allow_inf_nan=False)
    # on: a waiting reader whose place in line improves is told, at most once a day per
    # reservation (bot/line/place_updates.py); off: never.
    line_updates: Literal["on", "off"] = "on"
    # /addbook <ISBN>: an Open Library-compatible service for titles and authors, and how
    # long one lookup may take before staff are asked to type them.
    book_metadata_url: str = "https://openlibrary.org"
    book_metadata_timeout: float = Field(default=5.0, gt=0, le=60)
    # The shop's time zone (IANA name): every time a reader or staff sees is shown in it.
    timezone: str = "UTC"
    # When the shop is open (OpenStreetMap's opening_hours syntax) and the dates it is
    # closed: the pickup window counts only days it opens and ends while it is open, and
    # reminders wait for it to open (bot/opening_hours.py). Neither: the clock, always.
    opening_hours: str | None = None
    closed_dates: Annotated[frozenset[date], NoDecode] = frozenset()
    # "json": one JSON object a line, for log aggregators; plain text by default.
    log_format: str = "text"
    # The playground's port (`bookstore-bot playground`, or `run` without BOT_TOKEN).
    playground_port: int = Field(default=8080, ge=0, le=65535)
    # Webhook mode (bot/web/): Telegram posts updates to this public URL instead of the
    # bot polling; the path served is the URL's path. The secret is then required: only
    # requests carrying it in X-Telegram-Bot-Api-Secret-Token are taken.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_listen: str = "0.0.0.0"  # noqa: S104 (a webhook is for the outside to reach)
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # In polling mode, /healthz and /metrics are served on this port when it is set.
    http_port: int | None = Field(default=None, ge=1, le=65535)
    # The clients (by the address of the TCP connection) that /metrics answers and that
    # /healthz tells more than ok or not; comma-separated networks, blank for none.
    metrics_allow: Annotated[Networks, NoDecode] = DEFAULT_METRICS_ALLOW
    # Back-in-stock and hold messages sent as paid broadcasts (allow_paid_broadcast), up
    # to paid_messages_per_second per process: Telegram charges 0.1 Star per message
    # beyond the free limit. Replies are unaffected.
    paid_broadcast: bool = False
    paid_messages_per_second: float = Field(default=1000.0, gt=0, le=1000)
    # `run` beside a database still booting (compose without a healthcheck) waits this
    # long for it to take connections; 0: try once.
    database_wait_seconds: float = Field(default=60.0, ge=0, le=3600)
    # false: this process only delivers notifications; another one polls for updates
    # (Telegram gives a bot's updates to one getUpdates caller at a time).
    poll_updates: bool = True
    # The Mini App's public address (https, behind the operator's proxy or the webhook's
    # own), registered as the bot's menu button; blank: WEBHOOK_URL's origin + /app, and
    # with neither, no menu button (the page is still served on the bot's web server).
    web_app_url: str | None = None
    # How old a Mini App's initData (Telegram's signed launch data) may be.
    web_app_auth_max_age: timedelta = Field(default=timedelta(hours=1), gt=timedelta(0))
    # The Mini App's covers by ISBN from an Open Library-compatible covers service, such as
    # https://covers.openlibrary.org, kept in DATA_DIR/covers; unset: covers drawn here.
    covers_url: str | None = None
    # The staff's weekly digest (bot/digest/): the day and time it is sent, in the shop's
    # TIMEZONE, such as "Mo 09:00"; blank: never (/digest still shows it).
    digest_at: str | None = None

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
        # An '@' inside the password would make the rest of it the host, printed in errors.
        if url and urlsplit(url).netloc.count("@") > 1:
            raise ValueError(
                "has an '@' that is not percent-encoded: write it as %40 in the user or password"
            )
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

    @field_validator("metrics_allow", mode="before")
    @classmethod
    def split_networks(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        networks = []
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                # Host bits are forgiven (10.1.2.3/8 is 10.0.0.0/8), as nginx's allow does.
                networks.append(ip_network(part, strict=False))
            except ValueError:
                raise ValueError(
                    f"{part!r} is not a network (such as 10.0.0.0/8, 192.0.2.7 or fc00::/7)"
                ) from None
        return tuple(networks)

    @field_validator("webhook_url")
    @classmethod
    def public_url(cls, url: str | None) -> str | None:
        url = web_address(url, ("https", "http"), "is not a URL (https://host/path)")
        if url is None:
            return None
        path = webhook_path(url)
        if path in RESERVED_PATHS:
            raise ValueError(f"must not end in {' or '.join(sorted(RESERVED_PATHS))}")
        if path == MINI_APP_PATH or path.startswith(MINI_APP_PATH + "/"):
            raise ValueError(f"must not be {MINI_APP_PATH} nor under it (the Mini App's)")
        return url

    @field_validator("webhook_secret")
    @classmethod
    def secret_with_webhook(
        cls, secret: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if secret is not None and not secret.get_secret_value():
            secret = None  # WEBHOOK_SECRET= (blank) is unset
        # Telegram's rule for secret_token; the message must not echo the value.
        if secret is not None and not WEBHOOK_SECRET_SHAPE.fullmatch(secret.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
        if secret is None and info.data.get("webhook_url"):
            raise ValueError("is required when WEBHOOK_URL is set")
        return secret

    @field_validator("log_level")
    @classmethod
    def known_log_level(cls, level: str) -> str:
        level = level.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("covers_url")
    @classmethod
    def covers_address(cls, url: str | None) -> str | None:
        return web_address(url, ("https", "http"), "is not a URL (https://covers.openlibrary.org)")

    @field_validator("web_app_url")
    @classmethod
    def web_app_address(cls, url: str | None) -> str | None:
        refusal = "is not an https URL (Telegram opens Mini Apps over https only)"
        return web_address(url, ("https",), refusal)

    @property
    def mini_app_url(self) -> str | None:
        """WEB_APP_URL, or WEBHOOK_URL's origin + /app; None with neither."""
        if self.web_app_url:
            return self.web_app_url
        if self.webhook_url is None:
            return None
        parts = urlsplit(self.webhook_url)
        return f"{parts.scheme}://{parts.netloc}{MINI_APP_PATH}"

    @field_validator(
        "notification_max_age",
        "pickup_window",
        "pickup_reminder",
        "web_app_auth_max_age",
        mode="before",
    )
    @classmethod
    def seconds_or_iso_duration(cls, value: object) -> object:
        # pydantic reads "3600" from the environment as a malformed ISO duration.
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value)
        return value

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone name, such as Europe/Berlin") from None
        return name

    @field_validator("opening_hours")
    @classmethod
    def opening_hours_syntax(cls, text: str | None) -> str | None:
        if not text or not text.strip():
            return None  # blank is unset
        parse_schedule(text)
        return text

    @field_validator("closed_dates", mode="before")
    @classmethod
    def split_closed_dates(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        dates: set[date] = set()
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                dates.add(date.fromisoformat(part))
            except ValueError:
                raise ValueError(f"{part!r} is not a date (YYYY-MM-DD)") from None
        return frozenset(dates)

    @field_validator("digest_at")
    @classmethod
    def weekly_time(cls, text: str | None) -> str | None:
        if not text or not text.strip():
            return None  # blank is off
        WeeklyTime.parse(text)
        return text

    @property
    def shop_zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def production_settings(self) -> list[str]:
        """The settings given that only the real bot reads, by their environment names:
        beside them, a missing BOT_TOKEN is a token forgotten, not a wish to try the
        playground (which ignores them)."""
        return [
            name.upper()
            for name in PRODUCTION_ONLY
            if name in self.model_fields_set and getattr(self, name) not in (None, "")
        ]

    @field_validator("log_format")
    @classmethod
    def known_log_format(cls, log_format: str) -> str:
        log_format = log_format.lower()
        if log_format not in {"text", "json"}:
            raise ValueError("must be text or json")
        return log_format


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
