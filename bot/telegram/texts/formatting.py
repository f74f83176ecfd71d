"""What every conversation writes the same way: a book's name, dates, counts, places in
line, and lists cut to fit Telegram's limits."""

import re
from collections.abc import Callable
from datetime import date, datetime
from html import escape, unescape

from bot.i18n import catalogs
from bot.i18n.catalogs import N_, _
from bot.telegram.lengths import MESSAGE_LIMIT, truncated, utf16_length

BUTTON_LABEL_LENGTH = 40

# English ordinals: the suffix depends on the number's last digits (0: "th").
ORDINAL_IN_LINE = {
    1: N_("%(place)sst in line"),
    2: N_("%(place)snd in line"),
    3: N_("%(place)srd in line"),
    0: N_("%(place)sth in line"),
}


def moment(when: datetime) -> str:
    """In the time's own zone (services give times in the shop's), UTC when it has none;
    written as the active language writes dates, with the zone's abbreviation."""
    return catalogs.moment(when)


def deadline(when: datetime) -> str:
    """A hold's deadline, short: Fri 27 Nov, 18:00 (in the time's own zone)."""
    return catalogs.deadline(when)


def expected_around(day: date) -> str:
    """When a waiting reader may expect a copy (bot.books.expected_wait), as a phrase."""
    return _("expected around %(day)s") % {"day": catalogs.day(day)}


def expected_sentence(day: date) -> str:
    """The same, as a sentence of its own under a card or a confirmation."""
    return _("📅 A copy is expected around %(day)s.") % {"day": catalogs.day(day)}


def counted(count: int, more: bool = False) -> str:
    """1,000, or 1,000+ when there were more than were counted."""
    return catalogs.number(count) + ("+" if more else "")


def place_in_line(place: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st in line."""
    return _(ORDINAL_IN_LINE[ordinal_ending(place)]) % {"place": place}


def ordinal_ending(place: int) -> int:
    """Which of ORDINAL_IN_LINE the place takes: its last digit's, 0 for "th"."""
    return 0 if 10 <= place % 100 <= 20 or place % 10 > 3 else place % 10


def book_name(title: str, author: str, units: int | None = None) -> str:
    """Title and author, cut together to `units` UTF-16 units when given (before escaping,
    so no tag or entity is ever cut)."""
    if units is not None:
        author_units = min(utf16_length(author), max(units - utf16_length(title), units // 3))
        title, author = truncated(title, units - author_units), truncated(author, author_units)
    return _("<b>%(title)s</b> by %(author)s") % {"title": escape(title), "author": escape(author)}


def shortened(text: str, limit: int = BUTTON_LABEL_LENGTH) -> str:
    """Button labels are plain text with little room."""
    return truncated(text, limit)


def as_plain(html: str) -> str:
    """The text without markup, for alerts and the terminal."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def plain_length(html: str) -> int:
    """The length Telegram checks: UTF-16 units of the text once its HTML is parsed."""
    return utf16_length(as_plain(html))


def fitted(render: Callable[[int | None], str], entries: int) -> str:
    """A list whose names are in full when the message fits Telegram's limit, else each
    cut to an equal share of the room the rest of the message leaves."""
    text = render(None)
    if plain_length(text) <= MESSAGE_LIMIT or entries == 0:
        return text
    room = MESSAGE_LIMIT - plain_length(render(0))
    return render(max(room // entries, 0))


def truncated_html(render: Callable[[int | None], str]) -> str:
    """A list that stops, with an ellipsis, at the last line that fits Telegram's limit."""
    text = render(None)
    if plain_length(text) <= MESSAGE_LIMIT:
        return text
    lines = text.split("\n")
    while len(lines) > 1 and plain_length("\n".join([*lines, "…"])) > MESSAGE_LIMIT:
        lines.pop()
    return "\n".join([*lines, "…"])
