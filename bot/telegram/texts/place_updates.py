"""Place updates: the message telling a waiting reader their better place in line, its
Stop button, and the answer to pressing it."""

from collections.abc import Callable

from bot.i18n.catalogs import _
from bot.telegram.lengths import CALLBACK_ANSWER_LIMIT, truncated
from bot.telegram.texts.formatting import (
    ORDINAL_IN_LINE,
    book_name,
    ordinal_ending,
    shortened,
)

# Where each reader's own place and reservation go in a book's sentence: PostgreSQL's
# text cannot hold a NUL, so no title or author contains these.
PLACE_SLOT = "\x00\x01"
ID_SLOT = "\x00\x02"


def place_update(title: str, author: str, reservation_id: int, place: int) -> str:
    return place_update_writer(title, author)(reservation_id, place)


def place_update_writer(title: str, author: str) -> Callable[[int, int], str]:
    """place_update for the readers of one book in the active language: the sentence
    is rendered once, and each reader's place and reservation filled in, so a move in a
    line of 10,000 writes them in milliseconds."""
    sentence = _(
        "📈 You moved up in the line for %(book)s: you are now %(place)s (reservation #%(id)s)."
    ) % {"book": book_name(title, author), "place": PLACE_SLOT, "id": ID_SLOT}
    places = {ending: _(ordinal) for ending, ordinal in ORDINAL_IN_LINE.items()}

    def write(reservation_id: int, place: int) -> str:
        in_line = places[ordinal_ending(place)] % {"place": place}
        return sentence.replace(PLACE_SLOT, in_line, 1).replace(ID_SLOT, str(reservation_id), 1)

    return write


def stop_button() -> str:
    return shortened(_("Stop these updates"))


def updates_chosen(on: bool, shop_sends: bool) -> str:
    """The answer to /updates on or off."""
    if not on:
        return stopped_short()
    if not shop_sends:
        return _("This shop sends no place updates; /myreservations shows your place.")
    return _(
        "Place updates are on: when your place in a line improves, I tell you, "
        "at most once a day for each reservation."
    )


def stopped_short() -> str:
    return truncated(
        _("Place updates are off. /myreservations still shows your place."),
        CALLBACK_ANSWER_LIMIT,
    )
