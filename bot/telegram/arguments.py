"""Parsing of command arguments; anything malformed becomes a UsageError."""

import re
from collections.abc import Sequence
from datetime import date

from bot.books.isbn import looks_like_isbn
from bot.database import is_valid_id
from bot.telegram.bad_input import NotADay, UsageError

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# A day as /until takes it: YYYY-MM-DD in ASCII digits.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NEVER = "never"
# /addbook <ISBN> without a quantity: the copy in the hand of staff typing it.
ISBN_COPIES = 1

# Longer than any number the bot takes; refusing it early avoids converting huge strings.
_MAX_DIGITS = 19


def single_id(command: str, args: Sequence[str]) -> int:
    """`/command <id>`, with an optional leading '#'."""
    if len(args) != 1:
        raise UsageError(command)
    return _id(command, args[0].removeprefix("#"))


def id_and_optional_day(command: str, args: Sequence[str]) -> tuple[int, date | None]:
    """`/command <id> [YYYY-MM-DD]`; whether the day may be that day is the service's rule."""
    if len(args) not in (1, 2):
        raise UsageError(command)
    reservation_id = _id(command, args[0].removeprefix("#"))
    return reservation_id, _day(command, args[1]) if len(args) == 2 else None


def id_and_quantity(command: str, args: Sequence[str]) -> tuple[int, int]:
    """`/command <id> <quantity>`; the quantity's range is the service's rule."""
    if len(args) != 2:
        raise UsageError(command)
    return _id(command, args[0].removeprefix("#")), _integer(command, args[1])


def id_and_text(command: str, text: str) -> tuple[int, str]:
    """`/command <id> <text>`: the text after the command; the text's rules are the
    service's."""
    parts = text.split(maxsplit=1)
    if len(parts) != 2:
        raise UsageError(command)
    return _id(command, parts[0].removeprefix("#")), parts[1]


def id_and_day(command: str, args: Sequence[str]) -> tuple[int, date | None]:
    """`/command <id> <YYYY-MM-DD>`, or `/command <id> never` (None); the day's range is
    the service's rule."""
    if len(args) != 2:
        raise UsageError(command)
    reservation_id = _id(command, args[0].removeprefix("#"))
    if args[1].lower() == NEVER:
        return reservation_id, None
    if not _DAY.fullmatch(args[1]):
        raise UsageError(command)
    try:
        return reservation_id, date.fromisoformat(args[1])
    except ValueError:  # 2026-02-30, month 13
        raise UsageError(command) from None


def book_fields(command: str, text: str) -> tuple[str, str, int, str | None]:
    """`/command <title> | <author> | <quantity> [| <ISBN>]`: the text after the command;
    the ISBN as typed (its checksum is the service's rule)."""
    parts = [part.strip() for part in text.split("|")]
    if len(parts) not in (3, 4) or not parts[0] or not parts[1]:
        raise UsageError(command)
    isbn = parts[3] if len(parts) == 4 and parts[3] else None
    return parts[0], parts[1], _integer(command, parts[2]), isbn


def isbn_and_quantity(command: str, text: str) -> tuple[str, int] | None:
    """`/command <ISBN> [| <quantity>]` (one copy when no quantity is given); None when
    the text does not start with an ISBN, right or wrong (a title, say)."""
    parts = [part.strip() for part in text.split("|")]
    if not looks_like_isbn(parts[0]):
        return None
    if len(parts) == 1:
        return parts[0], ISBN_COPIES
    if len(parts) == 2:
        return parts[0], _integer(command, parts[1])
    raise UsageError(command)


def isbn_argument(args: Sequence[str]) -> str | None:
    """The ISBN of `/command <ISBN>` (ISBN-10 or ISBN-13, hyphens allowed), or None when
    the argument is no ISBN (an id, say)."""
    text = " ".join(args)
    return text if len(args) == 1 and looks_like_isbn(text) else None


def text_after_command(text: str | None) -> str:
    """What follows the command word, keeping the user's spacing and '|' characters."""
    parts = (text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


def _id(command: str, text: str) -> int:
    value = _integer(command, text)
    if not is_valid_id(value):
        raise UsageError(command)
    return value


def _day(command: str, text: str) -> date:
    if not _DAY.fullmatch(text):
        raise NotADay(command, text)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise NotADay(command, text) from None


def _integer(command: str, text: str) -> int:
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_DIGITS:
        raise UsageError(command)
    return int(text)


def request_fields(command: str, text: str) -> tuple[str | None, str, str]:
    """`/command <ISBN>` or `/command <title> | <author>`: (the ISBN as typed, or None;
    the title; the author). The checksum and the fields' lengths are the service's rules."""
    if looks_like_isbn(text):
        return text, "", ""
    parts = [part.strip() for part in text.split("|")]
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise UsageError(command)
    return None, parts[0], parts[1]


def order_fields(command: str, args: Sequence[str]) -> tuple[int, str | None, date | None]:
    """`/command <id> [ISBN] [YYYY-MM-DD]`, in that order; the ISBN's checksum and the
    day's range are the service's rules."""
    if not 1 <= len(args) <= 3:
        raise UsageError(command)
    request_id = _id(command, args[0].removeprefix("#"))
    isbn, day = None, None
    rest = list(args[1:])
    if rest and looks_like_isbn(rest[0]):
        isbn = rest.pop(0)
    if rest:
        day = _day(command, rest.pop(0))
    if rest:
        raise UsageError(command)
    return request_id, isbn, day
