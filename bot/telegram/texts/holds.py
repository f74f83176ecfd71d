"""Copies set aside (RESTOCK_POLICY=hold_in_line): what the reader is told (the offer, the
reminder, the end of the hold, the button to let it go), staff's /collected and /holds,
and the refusals of the hold rules."""

from datetime import datetime
from html import escape

from bot.holds.errors import NotOnHold, StockBelowHolds
from bot.holds.schemas import Collection, HoldsReport
from bot.i18n.catalogs import N_, _, ngettext
from bot.reservations.models import ReservationStatus
from bot.telegram.texts.formatting import (
    book_name,
    counted,
    deadline,
    shortened,
    truncated_html,
)

HOLD_STATES = {
    ReservationStatus.WAITING: N_("waiting"),
    ReservationStatus.NOTIFIED: N_("notified"),
    ReservationStatus.CANCELLED: N_("cancelled"),
    ReservationStatus.ON_HOLD: N_("on hold"),
    ReservationStatus.COLLECTED: N_("collected"),
    ReservationStatus.EXPIRED: N_("expired"),
    ReservationStatus.PAUSED: N_("paused"),
    ReservationStatus.LAPSED: N_("lapsed"),
}


def hold_offer(title: str, author: str, reservation_id: int, until: datetime) -> str:
    return _(
        "📦 A copy of %(book)s is set aside for you until %(deadline)s. "
        "Show reservation #%(id)s at the counter."
    ) % {"book": book_name(title, author), "deadline": deadline(until), "id": reservation_id}


def hold_reminder(title: str, author: str, reservation_id: int, until: datetime) -> str:
    return _(
        "⏰ A reminder: your copy of %(book)s is kept until %(deadline)s. "
        "Show reservation #%(id)s at the counter."
    ) % {"book": book_name(title, author), "deadline": deadline(until), "id": reservation_id}


def hold_expired(title: str, author: str, reservation_id: int, until: datetime) -> str:
    return _(
        "The copy of %(book)s kept for you until %(deadline)s has gone to the next reader "
        "(reservation #%(id)s). No harm done: if you still want it, reserve it again with /books."
    ) % {"book": book_name(title, author), "deadline": deadline(until), "id": reservation_id}


def release_button(reservation_id: int) -> str:
    return shortened(_("Don't need it (#%(id)s)") % {"id": reservation_id})


def collected(collection: Collection) -> str:
    book = collection.book
    return _("Reservation #%(id)s collected: %(book)s now has %(count)s in stock.") % {
        "id": collection.reservation_id,
        "book": book_name(book.title, book.author),
        "count": book.stock_quantity,
    }


def holds_report(report: HoldsReport) -> str:
    book = report.book

    def render(units: int | None) -> str:
        values = {
            "id": book.id,
            "book": book_name(book.title, book.author, units),
            "held": len(report.holds),
            "free": report.free,
            "waiting": counted(report.waiting, report.line_longer),
            "paused": counted(report.paused, report.paused_longer),
        }
        if report.paused:
            heading = _(
                "<b>Holds</b> for #%(id)s %(book)s: %(held)s on hold, %(free)s free, "
                "%(waiting)s waiting, %(paused)s paused."
            )
        else:
            heading = _(
                "<b>Holds</b> for #%(id)s %(book)s: %(held)s on hold, %(free)s free, "
                "%(waiting)s waiting."
            )
        lines = [heading % values]
        lines += [
            _("#%(id)s %(reader)s until %(deadline)s")
            % {
                "id": hold.reservation_id,
                "reader": reader_name(hold.first_name, hold.username),
                "deadline": deadline(hold.until),
            }
            for hold in report.holds
        ]
        return "\n".join(lines)

    return truncated_html(render)


def reader_name(first_name: str | None, username: str | None) -> str:
    if username:
        return f"@{escape(username)}"
    return escape(first_name) if first_name else _("a reader")


def not_on_hold(error: NotOnHold) -> str:
    """Only a held copy can be collected; no status: there is no such reservation."""
    if error.status is None:
        return _("There is no reservation #%(id)s.") % {"id": error.reservation_id}
    return _(
        "Reservation #%(id)s is not on hold (it is %(state)s): only a held copy can be collected."
    ) % {"id": error.reservation_id, "state": _(HOLD_STATES[error.status])}


def stock_below_holds(error: StockBelowHolds) -> str:
    holds = error.holds
    names = ", ".join(f"#{hold.reservation_id}" for hold in holds[:20])
    more = "…" if len(holds) > 20 else ""
    return ngettext(
        "%(book)s has %(count)s copy on hold (%(ids)s): the stock can't go below "
        "that. Collect or release them first (/collected, /holds).",
        "%(book)s has %(count)s copies on hold (%(ids)s): the stock can't go below "
        "that. Collect or release them first (/collected, /holds).",
        len(holds),
    ) % {
        "book": book_name(error.book.title, error.book.author),
        "count": len(holds),
        "ids": names + more,
    }
