"""/until and the Until buttons after reserving: the day a reservation is needed until,
the message when it lapsed after that day, and the refusals of the rule."""

from bot.i18n import catalogs
from bot.i18n.catalogs import N_, _
from bot.line.needed_until import Span
from bot.notifications.messages import LapsedWait
from bot.reservations.errors import DayPassed, ReservationEnded
from bot.reservations.models import ReservationStatus
from bot.reservations.schemas import ReservationView
from bot.telegram.lengths import CALLBACK_ANSWER_LIMIT, truncated
from bot.telegram.texts.formatting import book_name, deadline, shortened

# The buttons under a reservation's confirmation.
SPAN_LABELS = {
    Span.TWO_WEEKS: N_("Until: 2 weeks"),
    Span.ONE_MONTH: N_("Until: 1 month"),
    Span.THREE_MONTHS: N_("Until: 3 months"),
}


def span_button(span: Span) -> str:
    return shortened(_(SPAN_LABELS[span]))


def needed_until_set(reservation: ReservationView) -> str:
    """The answer to /until or a button: the day, or that it waits as long as it takes."""
    book = book_name(reservation.title, reservation.author)
    if reservation.needed_until is None:
        return _(
            "Reservation #%(id)s for %(book)s has no end date now: it waits as long as it takes."
        ) % {"id": reservation.id, "book": book}
    day = catalogs.day(reservation.needed_until)
    if reservation.status is ReservationStatus.ON_HOLD and reservation.hold_expires_at:
        return _(
            "Reservation #%(id)s for %(book)s is only needed until %(day)s. "
            "The copy set aside is kept for you until %(deadline)s."
        ) % {
            "id": reservation.id,
            "book": book,
            "day": day,
            "deadline": deadline(reservation.hold_expires_at),
        }
    return _(
        "Reservation #%(id)s for %(book)s is only needed until %(day)s. If it is still "
        "waiting when that day ends, it ends too, and I'll tell you."
    ) % {"id": reservation.id, "book": book, "day": day}


def needed_until_short(reservation: ReservationView) -> str:
    """The button's answer, in its spinner."""
    if reservation.needed_until is None:
        return truncated(_("No end date"), CALLBACK_ANSWER_LIMIT)
    return truncated(
        _("Only needed until %(day)s") % {"day": catalogs.day(reservation.needed_until)},
        CALLBACK_ANSWER_LIMIT,
    )


def needed_until_line(reservation: ReservationView) -> str:
    """Under a reservation in /myreservations, while it is in line."""
    if reservation.needed_until is None or reservation.status not in (
        ReservationStatus.WAITING,
        ReservationStatus.PAUSED,
    ):
        return ""
    return "\n    " + _("needed until %(day)s") % {"day": catalogs.day(reservation.needed_until)}


def lapsed(lapse: LapsedWait) -> str:
    """The reader's one message when their reservation lapsed."""
    return _(
        "🗓 Your reservation #%(id)s for %(book)s has ended: you needed it only until "
        "%(day)s. If you still want the book, reserve it again with /reserve %(book_id)s."
    ) % {
        "id": lapse.reservation_id,
        "book": book_name(lapse.title, lapse.author),
        "day": catalogs.day(lapse.needed_until),
        "book_id": lapse.book_id,
    }


def day_passed(error: DayPassed) -> str:
    return _(
        "%(day)s has already passed (today is %(today)s in the shop's time). "
        "Choose today or a later day, or never."
    ) % {"day": catalogs.day(error.day), "today": catalogs.day(error.today)}


def reservation_ended(error: ReservationEnded) -> str:
    return _(
        "Reservation #%(id)s has ended, so it needs no end date. "
        "Send /myreservations to see yours."
    ) % {"id": error.reservation.id}
