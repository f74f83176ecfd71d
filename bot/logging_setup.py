"""Logging that never shows the bot token."""

import logging
from collections.abc import Iterable

from pythonjsonlogger.json import JsonFormatter
from telegram.error import NetworkError

from bot.log_context import UpdateContextFilter

REDACTED = "[redacted]"


class NetworkErrorsInOneLine(logging.Filter):
    """Telegram being unreachable is an incident, not a bug: PTB logs some of its network
    errors (the last getUpdates at shutdown) with a traceback; keep them to one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, NetworkError):
            record.msg, record.args = f"{record.getMessage()} ({error})", ()
            record.exc_info, record.exc_text = None, None
        return True


class RedactingFormatter(logging.Formatter):
    """Removes secrets from the whole record, tracebacks included (URLs carry the token)."""

    def __init__(self, secrets: Iterable[str], fmt: str) -> None:
        super().__init__(fmt)
        self._secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        return redacted(super().format(record), self._secrets)


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object a line for log aggregators: time (ISO 8601, UTC), level, logger,
    message, and update_id, user_id and handler where there is one; secrets removed from
    the whole line, tracebacks included."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )
        self._secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        # A token is digits, letters, ':', '_' and '-': JSON writes it unescaped.
        return redacted(super().format(record), self._secrets)


def redacted(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret in it replaced."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def configure_logging(level: str, secrets: Iterable[str] = (), log_format: str = "text") -> None:
    """Logging to stderr at level (DEBUG, INFO, WARNING or ERROR), secrets redacted."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(RedactingJsonFormatter(secrets))
    else:
        handler.setFormatter(
            RedactingFormatter(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    handler.addFilter(UpdateContextFilter())
    # The bot's own lines at LOG_LEVEL; the libraries' (alembic's context, fontTools'
    # subsetting, PTB's and uvicorn's start-up) only from WARNING, unless LOG_LEVEL=DEBUG.
    libraries = logging.getLevelNamesMapping()[level]
    if level != "DEBUG":
        libraries = max(logging.WARNING, libraries)
    logging.basicConfig(level=libraries, handlers=[handler], force=True)
    logging.getLogger("bot").setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    updater = logging.getLogger("telegram.ext.Updater")
    if not any(isinstance(known, NetworkErrorsInOneLine) for known in updater.filters):
        updater.addFilter(NetworkErrorsInOneLine())
