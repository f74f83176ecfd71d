"""/reserve, /myreservations and /cancel: a reader's place in line, their list, the news
that the book is back, and the refusals of the reservation rules."""

from bot.books.schemas import BookView
from bot.i18n.catalogs import N_, _, ngettext
from bot.reservations.errors import (
    AlreadyWaiting,
    BookInStock,
    NotCancellable,
    ReservationNotFound,
    TooManyReservations,
)
from bot.reservations.models import ReservationStatus
from bot.reservations.schemas import (
    Cancellation,
    Confirmation,
    ReservationPage,
    ReservationView,
)
from bot.telegram.lengths import CALLBACK_ANSWER_LIMIT, truncated
from bot.telegram.texts import pause, special_orders, withdrawals
from bot.telegram.texts.formatting import (
    book_name,
    deadline,
    expected_around,
    expected_sentence,
    fitted,
    moment,
    place_in_line,
    shortened,
)
from bot.telegram.texts.needed_until import needed_until_line

STATUS_LABELS = {
    ReservationStatus.WAITING: N_("⏳ waiting since"),
    ReservationStatus.NOTIFIED: N_("📬 back in stock, told you on"),
    ReservationStatus.CANCELLED: N_("✖️ cancelled on"),
    ReservationStatus.ON_HOLD: N_("📦 set aside for you on"),
    ReservationStatus.COLLECTED: N_("✅ collected on"),
    ReservationStatus.EXPIRED: N_("⌛ not collected in time, ended on"),
    ReservationStatus.PAUSED: N_("⏸ paused on"),
    ReservationStatus.LAPSED: N_("🗓 not needed after your date, ended on"),
}


def reserved(confirmation: Confirmation) -> str:
    book = confirmation.book
    place = confirmation.queue_position
    ahead = (
        _("you are first in line")
        if place == 1
        else _("you are number %(place)s in line") % {"place": place}
    )
    text = _(
        "Reserved %(book)s (reservation #%(id)s); %(ahead)s. "
        "I'll message you as soon as it is back in stock."
    ) % {
        "book": book_name(book.title, book.author),
        "id": confirmation.reservation_id,
        "ahead": ahead,
    }
    if confirmation.expected_on is None:
        return text
    return f"{text}\n{expected_sentence(confirmation.expected_on)}"


def reserved_short(confirmation: Confirmation) -> str:
    return truncated(
        _("Reserved: number %(place)s in line") % {"place": confirmation.queue_position},
        CALLBACK_ANSWER_LIMIT,
    )


def reservation_page(page: ReservationPage) -> str:
    requests = special_orders.requests_section(page.requests) if page.requests else ""
    if page.total == 0 and requests:
        return requests
    if page.total == 0:
        return _(
            "You have no reservations yet. Find a sold-out book with /books "
            "and tap Reserve, or send /reserve &lt;book id&gt;."
        )

    def render(units: int | None) -> str:
        lines = [
            _("<b>Your reservations</b> (page %(number)s of %(of)s)")
            % {"number": page.number, "of": page.page_count},
            "",
        ]
        lines += [reservation_entry(reservation, units) for reservation in page.reservations]
        if requests:
            lines = [requests, "", *lines]
        return "\n".join(lines)

    return fitted(render, len(page.reservations))


def reservation_entry(reservation: ReservationView, units: int | None = None) -> str:
    label = _(STATUS_LABELS[reservation.status])
    text = (
        f"#{reservation.id} {book_name(reservation.title, reservation.author, units)}\n"
        f"    {label} {moment(reservation.status_since)}"
    )
    return text + hold_detail(reservation) + needed_until_line(reservation)


def hold_detail(reservation: ReservationView) -> str:
    """The line under a reservation: its place in line, until when a copy is kept, or
    why staff cancelled it."""
    if reservation.status is ReservationStatus.WAITING and reservation.place_in_line:
        place = f" · {place_in_line(reservation.place_in_line)}"
        if reservation.expected_on is None:
            return place
        return f"{place} · {expected_around(reservation.expected_on)}"
    if reservation.status is ReservationStatus.PAUSED:
        return pause.paused_detail(reservation)
    if reservation.status is ReservationStatus.ON_HOLD and reservation.hold_expires_at:
        return "\n    " + _("kept for you until %(deadline)s") % {
            "deadline": deadline(reservation.hold_expires_at)
        }
    if reservation.status is ReservationStatus.CANCELLED and reservation.cancel_reason:
        return "\n    " + withdrawals.cancelled_because_withdrawn(reservation.cancel_reason)
    return ""


def cancel_button(reservation: ReservationView) -> str:
    return shortened(
        _("Cancel #%(id)s %(title)s") % {"id": reservation.id, "title": reservation.title}
    )


def cancelled(cancellation: Cancellation) -> str:
    reservation = cancellation.reservation
    return _("Cancelled reservation #%(id)s for %(book)s.") % {
        "id": reservation.id,
        "book": book_name(reservation.title, reservation.author),
    }


def cancelled_short() -> str:
    return _("Reservation cancelled")


def back_in_stock(book: BookView) -> str:
    """The message each waiting reader gets when a restock brings the book back."""
    return _("📚 Good news: %(book)s is back in stock! Come by the shop soon, copies go fast.") % {
        "book": book_name(book.title, book.author)
    }


def book_in_stock(error: BookInStock) -> str:
    book = error.book
    return _("%(book)s is in stock (%(count)s): you can buy it now, no need to wait.") % {
        "book": book_name(book.title, book.author),
        "count": book.stock_quantity,
    }


def already_waiting(error: AlreadyWaiting) -> str:
    return _("You are already waiting for %(book)s. See /myreservations.") % {
        "book": book_name(error.book.title, error.book.author)
    }


def too_many_reservations(error: TooManyReservations) -> str:
    return ngettext(
        "You already have %(limit)s reservation waiting or set aside, the most one reader "
        "may have. Cancel one in /myreservations to reserve another book.",
        "You already have %(limit)s reservations waiting or set aside, the most one reader "
        "may have. Cancel one in /myreservations to reserve another book.",
        error.limit,
    ) % {"limit": error.limit}


def reservation_not_found(error: ReservationNotFound) -> str:
    return _("You have no reservation #%(id)s. Send /myreservations to see yours.") % {
        "id": error.reservation_id
    }


def not_cancellable(error: NotCancellable) -> str:
    reservation = error.reservation
    if reservation.status is ReservationStatus.CANCELLED:
        return _("Reservation #%(id)s can't be cancelled: it is already cancelled.") % {
            "id": reservation.id
        }
    if reservation.status is ReservationStatus.COLLECTED:
        return _("Reservation #%(id)s can't be cancelled: it is already collected.") % {
            "id": reservation.id
        }
    if reservation.status is ReservationStatus.EXPIRED:
        return _(
            "Reservation #%(id)s can't be cancelled: it is over: "
            "the copy kept for you was not collected in time."
        ) % {"id": reservation.id}
    if reservation.status is ReservationStatus.LAPSED:
        return _(
            "Reservation #%(id)s can't be cancelled: it has ended after the day "
            "you needed the book until."
        ) % {"id": reservation.id}
    return _(
        "Reservation #%(id)s can't be cancelled: it is already fulfilled: "
        "the book is back in stock."
    ) % {"id": reservation.id}
