"""Place updates: the message telling a waiting reader their better place in line, its
Stop button, and the answer to pressing it."""

from bot.i18n.catalogs import _
from bot.telegram.lengths import CALLBACK_ANSWER_LIMIT, truncated
from bot.telegram.texts.formatting import book_name, place_in_line, shortened


def place_update(title: str, author: str, reservation_id: int, place: int) -> str:
    return _(
        "📈 You moved up in the line for %(book)s: you are now %(place)s (reservation #%(id)s)."
    ) % {"book": book_name(title, author), "place": place_in_line(place), "id": reservation_id}


def stop_button() -> str:
    return shortened(_("Stop these updates"))


def stopped_short() -> str:
    return truncated(
        _("Place updates are off. /myreservations still shows your place."),
        CALLBACK_ANSWER_LIMIT,
    )
