"""What a refused send means: Telegram's errors sorted into what to do with the message.

Only a refusal meant for one chat (400, 403) fails a message. Anything else that keeps a
message from Telegram (network errors, timeouts, 5xx) is Telegram's trouble, not the
reader's: the message waits until Telegram answers again.
"""

import warnings
from dataclasses import dataclass
from datetime import timedelta

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning


def retry_after_seconds(error: RetryAfter) -> float:
    """PTB 22 gives retry_after as a timedelta (PTB_TIMEDELTA=1) or a deprecated int."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        period = error.retry_after
    return period.total_seconds() if isinstance(period, timedelta) else float(period)


@dataclass(frozen=True)
class FloodControl:
    """A 429: pause the broadcast this long and send the message after."""

    delay: float


@dataclass(frozen=True)
class Refused:
    """Refused for this chat or this text: trying again won't help."""

    reason: str
    unreachable: bool  # the reader can't be reached at all (blocked the bot, no such chat)


@dataclass(frozen=True)
class TelegramTrouble:
    """Network errors, timeouts, 5xx and the rare others."""

    reason: str


SendOutcome = FloodControl | Refused | TelegramTrouble


def outcome_of(error: TelegramError) -> SendOutcome:
    if isinstance(error, RetryAfter):
        return FloodControl(retry_after_seconds(error))
    if isinstance(error, Forbidden):
        # Blocked the bot or deleted the account.
        return Refused(error.message, unreachable=True)
    if isinstance(error, BadRequest | ChatMigrated):
        # BadRequest is a NetworkError in PTB, so it is sorted before Telegram's own
        # trouble below.
        return Refused(error.message, unreachable="chat not found" in error.message.lower())
    return TelegramTrouble(str(error))
