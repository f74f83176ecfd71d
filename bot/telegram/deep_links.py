"""Links that open the bot on a book: `https://t.me/<bot>?start=book_<id>`.

The payload comes back from anyone who can type a URL, so parsing checks everything.
"""

import re

from telegram import helpers

from bot.database import is_valid_id

BOOK_PAYLOAD = re.compile(r"book_([0-9]{1,19})")


def book_payload(book_id: int) -> str:
    return f"book_{book_id}"


def book_link(bot_username: str, book_id: int) -> str:
    return helpers.create_deep_linked_url(bot_username, book_payload(book_id))


def book_id_from_start(args: list[str] | None) -> int | None:
    """The book a /start payload names, or None for no payload or anything malformed."""
    if not args or len(args) != 1:
        return None
    match = BOOK_PAYLOAD.fullmatch(args[0])
    if match is None:
        return None
    book_id = int(match.group(1))
    return book_id if is_valid_id(book_id) else None


def command_link(book_id: int) -> str:
    """The command link under each catalog entry that opens the book's card."""
    return f"/book_{book_id}"


def book_id_from_command(text: str | None) -> int | None:
    """The id in a `/book_<id>` command link (as the catalog lists them)."""
    match = re.fullmatch(r"/book_([0-9]{1,19})(@\w+)?", (text or "").strip())
    if match is None:
        return None
    book_id = int(match.group(1))
    return book_id if is_valid_id(book_id) else None
