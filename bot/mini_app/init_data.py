"""Who opened the Mini App: Telegram's signed initData, checked as Telegram documents
(core.telegram.org/bots/webapps, "Validating data received via the Mini App").

secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token); the hash is the hex
HMAC_SHA256(key=secret_key, msg=data_check_string), where data_check_string is every
field but hash, "key=value" sorted by key, one a line. A string that fails anywhere
(forged, altered, older than the allowed age, missing, malformed) is InitDataRefused,
whose message names the failure and nothing of the token or the data.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from bot.database import is_valid_id
from bot.i18n import languages
from bot.users.schemas import Reader

# Telegram's initData is a few hundred bytes (a user, a query id, the dates); photo URLs
# and a chat make it longer, never this long.
MAX_INIT_DATA_LENGTH = 8192
DEFAULT_MAX_AGE = timedelta(hours=1)
# A clock a little behind Telegram's still takes what it signed a moment ago.
CLOCK_SKEW_SECONDS = 60
# Telegram's own limits for a user's names.
NAME_MAX_LENGTH = 256


class InitDataRefused(Exception):
    """initData that does not prove who sent it; the reason is for the log, never shown."""


@dataclass(frozen=True)
class InitDataCheck:
    """The check of initData against the bot's token, keeping only the derived key."""

    secret_key: bytes
    max_age: timedelta = DEFAULT_MAX_AGE

    @classmethod
    def for_token(cls, bot_token: str, max_age: timedelta = DEFAULT_MAX_AGE) -> "InitDataCheck":
        return cls(secret_key(bot_token), max_age)

    def reader(self, init_data: str, now: float | None = None) -> Reader:
        """The reader who opened the Mini App; InitDataRefused unless Telegram signed
        init_data within max_age."""
        fields = signed_fields(init_data)
        offered = fields.pop("hash", "")
        expected = sign(self.secret_key, fields)
        # Constant time: how much of a forged hash is right must not show in the timing.
        if not hmac.compare_digest(offered.encode("ascii", "replace"), expected.encode()):
            raise InitDataRefused("hash does not match")
        check_age(fields.get("auth_date", ""), self.max_age, time.time() if now is None else now)
        return reader_from(fields.get("user", ""))


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(key: bytes, fields: dict[str, str]) -> str:
    """The hash Telegram puts in initData with these fields (tests sign with it too)."""
    return hmac.new(key, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def signed_fields(init_data: str) -> dict[str, str]:
    """initData's fields, each once; InitDataRefused for anything else."""
    if not init_data or len(init_data) > MAX_INIT_DATA_LENGTH:
        raise InitDataRefused("missing or too long")
    try:
        # Blank values kept: Telegram signs every field it sends, an empty one too.
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise InitDataRefused("not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataRefused("a field given twice")
    if "hash" not in fields:
        raise InitDataRefused("no hash")
    return fields


def check_age(auth_date: str, max_age: timedelta, now: float) -> None:
    if not auth_date.isascii() or not auth_date.isdigit() or len(auth_date) > 12:
        raise InitDataRefused("no auth_date")
    age = now - int(auth_date)
    if age > max_age.total_seconds() or age < -CLOCK_SKEW_SECONDS:
        raise InitDataRefused("expired")


def reader_from(user_json: str) -> Reader:
    """The signed user, parsed as untrusted JSON all the same."""
    try:
        user: Any = json.loads(user_json)
    except (ValueError, RecursionError):
        raise InitDataRefused("user is not JSON") from None
    if not isinstance(user, dict):
        raise InitDataRefused("no user")
    user_id = user.get("id")
    if type(user_id) is not int or not is_valid_id(user_id) or user.get("is_bot") is True:
        raise InitDataRefused("no user id")
    username, first_name, language = (
        _text(user.get(name)) for name in ("username", "first_name", "language_code")
    )
    # A private chat's id is its reader's: the Mini App's messages go there.
    return Reader(user_id, user_id, username, first_name, languages.from_telegram(language))


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value[:NAME_MAX_LENGTH]
