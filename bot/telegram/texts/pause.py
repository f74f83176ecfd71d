"""/pause and /resume: a reservation out of the line for a while, its place kept, and
back; the Pause and Resume buttons under /myreservations; their refusals."""

from html import escape

from bot.cards.schemas import Paused
from bot.i18n import catalogs
from bot.i18n.catalogs import _
from bot.line.pause import PauseChange
from bot.reservations.errors import NotPausable, NotPaused, ResumeDayNotAhead
from bot.reservations.models import ReservationStatus
from bot.reservations.schemas import ReservationView
from bot.telegram.bad_input import NotADay
from bot.telegram.lengths import truncated
from bot.telegram.texts.formatting import book_name, place_in_line, shortened

# A day the reader wrote is echoed back, cut to this many characters.
ECHOED_DAY_LENGTH = 20


def paused(change: PauseChange) -> str:
    reservation = change.reservation
    day = None if reservation.resume_on is None else catalogs.day(reservation.resume_on)
    values = {
        "id": reservation.id,
        "book": book_name(reservation.title, reservation.author),
        "place": place_in_line(reservation.place_in_line or 1),
        "day": day,
    }
    if day is None:
        text = _(
            "⏸ Paused reservation #%(id)s for %(book)s. You keep your place: "
            "%(place)s when you resume. Meanwhile no copy is set aside for you and "
            "no back-in-stock news comes."
        )
    else:
        text = _(
            "⏸ Paused reservation #%(id)s for %(book)s until %(day)s, when it resumes by "
            "itself. You keep your place: %(place)s when you resume. Meanwhile no copy is "
            "set aside for you and no back-in-stock news comes."
        )
    return (
        text % values
        + "\n"
        + _("Send /resume %(id)s to resume it sooner.") % {"id": reservation.id}
    )


def paused_short() -> str:
    return _("Reservation paused")


def resumed(change: PauseChange) -> str:
    reservation = change.reservation
    values = {"id": reservation.id, "book": book_name(reservation.title, reservation.author)}
    if reservation.status is ReservationStatus.ON_HOLD:
        return (
            _(
                "▶️ Resumed reservation #%(id)s for %(book)s: a copy is free, and it is set "
                "aside for you. My next message says until when."
            )
            % values
        )
    if reservation.status is ReservationStatus.NOTIFIED:
        return (
            _(
                "▶️ Resumed reservation #%(id)s for %(book)s, and it is back in stock: "
                "my next message has the news."
            )
            % values
        )
    return _("▶️ Resumed reservation #%(id)s for %(book)s: you are %(place)s.") % {
        **values,
        "place": place_in_line(reservation.place_in_line or 1),
    }


def resumed_short() -> str:
    return _("Reservation resumed")


def paused_detail(reservation: ReservationView) -> str:
    """Under a paused reservation in /myreservations: its place once resumed, and the
    day it resumes by itself."""
    text = " · " + _("%(place)s when you resume") % {
        "place": place_in_line(reservation.place_in_line or 1)
    }
    if reservation.resume_on is None:
        return text
    return (
        text
        + "\n    "
        + _("resumes by itself on %(day)s") % {"day": catalogs.day(reservation.resume_on)}
    )


def pause_button(reservation: ReservationView) -> str:
    return shortened(_("⏸ Pause #%(id)s") % {"id": reservation.id})


def resume_button(reservation: ReservationView) -> str:
    return shortened(
        _("▶️ Resume #%(id)s %(title)s") % {"id": reservation.id, "title": reservation.title}
    )


def not_pausable(error: NotPausable) -> str:
    reservation = error.reservation
    if reservation.status is ReservationStatus.PAUSED:
        return _("Reservation #%(id)s is already paused. Send /resume %(id)s to resume it.") % {
            "id": reservation.id
        }
    if reservation.status is ReservationStatus.ON_HOLD:
        return _(
            "Reservation #%(id)s can't be paused: a copy is set aside for you. "
            "If you don't need it now, tap Don't need it (or send /cancel %(id)s): "
            "the copy goes to the next reader."
        ) % {"id": reservation.id}
    return _(
        "Reservation #%(id)s can't be paused: it is no longer waiting in line. "
        "Send /myreservations to see yours."
    ) % {"id": reservation.id}


def not_paused(error: NotPaused) -> str:
    reservation = error.reservation
    if reservation.status is ReservationStatus.WAITING:
        return _("Reservation #%(id)s isn't paused: it is waiting in line already.") % {
            "id": reservation.id
        }
    return _(
        "Reservation #%(id)s isn't paused, so there is nothing to resume. "
        "Send /myreservations to see yours."
    ) % {"id": reservation.id}


def resume_day_not_ahead(error: ResumeDayNotAhead) -> str:
    return _(
        "The day to resume must come after today (%(today)s, in the shop's time). "
        "Leave it out to stay paused until you resume."
    ) % {"today": catalogs.day(error.today)}


def not_a_day(error: NotADay) -> str:
    return _(
        "“%(text)s” is not a day I can read: write it as YYYY-MM-DD, "
        "for example /%(command)s 7 2026-12-24."
    ) % {"text": escape(truncated(error.text, ECHOED_DAY_LENGTH)), "command": error.command}


def card_paused(status: Paused) -> str:
    """On the book's card: paused, the place once resumed, and the day it resumes."""
    place = place_in_line(status.place)
    if status.resume_on is None:
        return _("⏸ Your reservation #%(id)s is paused: %(place)s when you resume.") % {
            "id": status.reservation_id,
            "place": place,
        }
    return _("⏸ Your reservation #%(id)s is paused until %(day)s: %(place)s when it resumes.") % {
        "id": status.reservation_id,
        "place": place,
        "day": catalogs.day(status.resume_on),
    }


def card_resume_button() -> str:
    return _("▶️ Resume my reservation")
