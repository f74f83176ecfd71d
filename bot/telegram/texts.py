"""Every text the bot shows a person, as HTML with user data escaped."""

import re
from collections.abc import Callable
from datetime import datetime
from html import escape, unescape

from bot.books.errors import (
    BookFieldInvalid,
    BookNotFound,
    DuplicateBook,
    MalformedRow,
    QuantityOutOfRange,
    RepeatedInFile,
    SearchTooLong,
)
from bot.books.schemas import BookPage, BookView, ImportReport
from bot.cards.schemas import (
    BookCard,
    BookInLine,
    NoReservation,
    Notified,
    OnHold,
    ReaderStatus,
    Waiting,
)
from bot.demand.schemas import BookDemand, DemandReport
from bot.errors import DomainError
from bot.holds.errors import NotOnHold, StockBelowHolds
from bot.holds.schemas import Collection, HoldsReport, LineRestock
from bot.i18n import catalogs
from bot.i18n.catalogs import N_, _, ngettext
from bot.notifications.models import NotificationKind
from bot.notifications.schemas import DeliveryReport
from bot.reservations.errors import (
    AlreadyWaiting,
    BookInStock,
    NotCancellable,
    ReservationNotFound,
)
from bot.reservations.models import ReservationStatus
from bot.reservations.schemas import (
    Cancellation,
    Confirmation,
    ReservationPage,
    ReservationView,
)
from bot.restocks.schemas import Restock
from bot.telegram import deep_links
from bot.telegram.bad_input import BadInput, InvalidButton, NotPrivateChat, UsageError
from bot.telegram.lengths import CALLBACK_ANSWER_LIMIT, MESSAGE_LIMIT, truncated, utf16_length
from bot.users.errors import NotAnAdmin

READER_COMMANDS = {
    "books": N_("browse the catalog (or /books <text> to search)"),
    "search": N_("find books by title or author"),
    "reserve": N_("wait for an out-of-stock book: /reserve <book id>"),
    "myreservations": N_("see your reservations"),
    "cancel": N_("cancel a reservation: /cancel <reservation id>"),
    "help": N_("show this list"),
    "book": N_("a book's card, to reserve or share it: /book <book id>"),
    "language": N_("choose the language I speak with you"),
}
ADMIN_COMMANDS = {
    "restock": N_("set a book's stock: /restock <book id> <quantity>"),
    "addbook": N_("add a book: /addbook <title> | <author> | <quantity>"),
    "deliveries": N_("how a book's messages to readers are going: /deliveries <book id>"),
    "collected": N_("a reader took their held copy: /collected <reservation id>"),
    "holds": N_("a book's copies on hold and its line: /holds <book id>"),
    "demand": N_("which books readers wait for most, with a chart and a CSV"),
}
USAGE = {
    "search": N_("/search &lt;part of a title or author&gt;, for example /search tolstoy"),
    "reserve": N_("/reserve &lt;book id&gt;, for example /reserve 12"),
    "cancel": N_("/cancel &lt;reservation id&gt;, for example /cancel 7"),
    "restock": N_("/restock &lt;book id&gt; &lt;quantity&gt;, for example /restock 12 5"),
    "deliveries": N_("/deliveries &lt;book id&gt;, for example /deliveries 12"),
    "book": N_("/book &lt;book id&gt;, for example /book 12"),
    "addbook": N_(
        "/addbook &lt;title&gt; | &lt;author&gt; | &lt;quantity&gt;, "
        "for example /addbook Dune | Frank Herbert | 0"
    ),
    "collected": N_("/collected &lt;reservation id&gt;, for example /collected 7"),
    "holds": N_("/holds &lt;book id&gt;, for example /holds 12"),
}
STATUS_LABELS = {
    ReservationStatus.WAITING: N_("⏳ waiting since"),
    ReservationStatus.NOTIFIED: N_("📬 back in stock, told you on"),
    ReservationStatus.CANCELLED: N_("✖️ cancelled on"),
    ReservationStatus.ON_HOLD: N_("📦 set aside for you on"),
    ReservationStatus.COLLECTED: N_("✅ collected on"),
    ReservationStatus.EXPIRED: N_("⌛ not collected in time, ended on"),
}
BUTTON_LABEL_LENGTH = 40


def moment(when: datetime) -> str:
    """In the time's own zone (services give times in the shop's), UTC when it has none;
    written as the active language writes dates, with the zone's abbreviation."""
    return catalogs.moment(when)


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


# Conversations


def welcome(first_name: str | None, is_admin: bool) -> str:
    greeting = _("Hello, %(name)s!") % {"name": escape(first_name)} if first_name else _("Hello!")
    return (
        greeting
        + " "
        + _(
            "I keep your place in line for books that are sold out, and I message "
            "you the moment one is back on the shelf."
        )
        + "\n\n"
        + help_text(is_admin)
    )


def help_text(is_admin: bool) -> str:
    lines = [_("<b>What I can do</b>")]
    lines += [f"/{name} — {escape(_(what))}" for name, what in READER_COMMANDS.items()]
    if is_admin:
        lines += ["", _("<b>For staff</b>")]
        lines += [f"/{name} — {escape(_(what))}" for name, what in ADMIN_COMMANDS.items()]
    return "\n".join(lines)


def language_prompt() -> str:
    return _("Which language shall I speak with you?")


def language_chosen() -> str:
    """Said in the language just chosen."""
    # TRANSLATORS: say the name of the language you translate into, not "English".
    return _("From now on I speak English with you. Send /language to change it.")


def language_chosen_short() -> str:
    # TRANSLATORS: the name of the language you translate into, not "English".
    return _("Language: English")


def unknown_command() -> str:
    return _("I don't know that command. Send /help to see what I can do.")


def not_a_command() -> str:
    return _("I understand commands only. Send /books to browse, or /help for the list.")


# Catalog


def book_page(page: BookPage) -> str:
    if page.total == 0:
        if page.query:
            return _("No books match “%(query)s”. Try /books for the whole catalog.") % {
                "query": escape(page.query)
            }
        return _("The catalog is empty for now.")
    heading = (
        _("<b>Books matching “%(query)s”</b>") % {"query": escape(page.query)}
        if page.query
        else _("<b>Catalog</b>")
    )

    def render(units: int | None) -> str:
        of = f"{page.page_count}+" if page.more else f"{page.page_count}"
        lines = [
            _("%(heading)s (page %(number)s of %(of)s)")
            % {"heading": heading, "number": page.number, "of": of},
            "",
        ]
        lines += [catalog_entry(book, units) for book in page.books]
        if any(not book.in_stock for book in page.books):
            lines += ["", _("Tap Reserve to be told when a sold-out book is back.")]
        return "\n".join(lines)

    return fitted(render, len(page.books))


def catalog_entry(book: BookView, units: int | None = None) -> str:
    name = book_name(book.title, book.author, units)
    return f"#{book.id} {name}\n    {availability(book)} · {deep_links.command_link(book.id)}"


def reserve_button(book: BookView) -> str:
    return shortened(_("Reserve #%(id)s %(title)s") % {"id": book.id, "title": book.title})


def search_unpaged(page: BookPage) -> str:
    """Shown under a search too long to carry in the page buttons."""
    total = _("more than %(count)s") % {"count": page.total} if page.more else f"{page.total}"
    return _("Showing the first %(shown)s of %(total)s: narrow your search to see the rest.") % {
        "shown": len(page.books),
        "total": total,
    }


# Reservations


def reserved(confirmation: Confirmation) -> str:
    book = confirmation.book
    place = confirmation.queue_position
    ahead = (
        _("you are first in line")
        if place == 1
        else _("you are number %(place)s in line") % {"place": place}
    )
    return _(
        "Reserved %(book)s (reservation #%(id)s); %(ahead)s. "
        "I'll message you as soon as it is back in stock."
    ) % {
        "book": book_name(book.title, book.author),
        "id": confirmation.reservation_id,
        "ahead": ahead,
    }


def reserved_short(confirmation: Confirmation) -> str:
    return truncated(
        _("Reserved: number %(place)s in line") % {"place": confirmation.queue_position},
        CALLBACK_ANSWER_LIMIT,
    )


def reservation_page(page: ReservationPage) -> str:
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
        return "\n".join(lines)

    return fitted(render, len(page.reservations))


def reservation_entry(reservation: ReservationView, units: int | None = None) -> str:
    label = _(STATUS_LABELS[reservation.status])
    text = (
        f"#{reservation.id} {book_name(reservation.title, reservation.author, units)}\n"
        f"    {label} {moment(reservation.status_since)}"
    )
    return text + hold_detail(reservation)


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


# Staff


def restocked(restock: Restock) -> str:
    book = restock.book
    text = _("Stock of #%(id)s %(book)s: %(old)s → %(new)s.") % {
        "id": book.id,
        "book": book_name(book.title, book.author),
        "old": restock.old_stock,
        "new": restock.new_stock,
    }
    count = restock.notified
    if restock.old_stock == 0 and restock.new_stock > 0:
        text += " " + ngettext(
            "Notified %(count)s waiting reader: %(count)s message queued.",
            "Notified %(count)s waiting readers: %(count)s messages queued.",
            count,
        ) % {"count": count}
        if count:
            text += " " + _("Follow them with /deliveries %(id)s.") % {"id": book.id}
    else:
        text += " " + _("Nobody to notify: the book was not going from sold out to in stock.")
    return text


def book_added(book: BookView) -> str:
    name = book_name(book.title, book.author)
    return _("Added #%(id)s %(book)s with %(count)s in stock.") % {
        "id": book.id,
        "book": name,
        "count": book.stock_quantity,
    }


def back_in_stock(book: BookView) -> str:
    return _("📚 Good news: %(book)s is back in stock! Come by the shop soon, copies go fast.") % {
        "book": book_name(book.title, book.author)
    }


def delivery_report(report: DeliveryReport, paused_since: datetime | None = None) -> str:
    name = f"#{report.book_id} {book_name(report.title, report.author)}"
    if report.restocked_at is None:
        return _("No restock of %(book)s has notified anyone yet.") % {"book": name}
    text = _("Messages about %(book)s since its restock %(moment)s:") % {
        "book": name,
        "moment": moment(report.restocked_at),
    }
    for counts in report.kinds:
        text += f"\n\n<b>{message_kind(counts.kind)}</b>\n" + _(
            "✅ sent: %(sent)s\n⏳ pending: %(pending)s\n❌ failed: %(failed)s"
        ) % {"sent": counts.sent, "pending": counts.pending, "failed": counts.failed}
    if paused_since is not None:
        text += "\n\n" + _("⏸ paused: Telegram unreachable since %(moment)s") % {
            "moment": moment(paused_since)
        }
    return text


def message_kind(kind: str) -> str:
    """A kind of message (NotificationKind's value), as /deliveries names it."""
    names = {
        NotificationKind.BACK_IN_STOCK.value: N_("📚 Back in stock"),
        NotificationKind.HOLD_OFFER.value: N_("📦 Copies set aside"),
        NotificationKind.HOLD_REMINDER.value: N_("⏰ Pickup reminders"),
        NotificationKind.HOLD_EXPIRED.value: N_("⌛ Holds not collected in time"),
    }
    return _(names[kind])


def import_report(report: ImportReport) -> str:
    """Plain text for the terminal."""
    lines = [
        ngettext("Imported %(count)s book.", "Imported %(count)s books.", report.imported)
        % {"count": report.imported}
    ]
    if report.rejected:
        lines.append(_("Rejected %(count)s:") % {"count": len(report.rejected)})
        lines += [
            "  "
            + _("line %(line)s: %(reason)s")
            % {"line": row.line, "reason": as_plain(refusal(row.error))}
            for row in report.rejected
        ]
    return "\n".join(lines)


# Refusals and failures


def refusal(error: DomainError | BadInput) -> str:
    """What the reader is told when a rule or a parser refuses their request."""
    match error:
        case BookNotFound(book_id=book_id):
            return _("There is no book #%(id)s. Send /books to see the catalog.") % {"id": book_id}
        case BookInStock(book=book):
            return _("%(book)s is in stock (%(count)s): you can buy it now, no need to wait.") % {
                "book": book_name(book.title, book.author),
                "count": book.stock_quantity,
            }
        case AlreadyWaiting(book=book):
            return _("You are already waiting for %(book)s. See /myreservations.") % {
                "book": book_name(book.title, book.author)
            }
        case ReservationNotFound(reservation_id=reservation_id):
            return _("You have no reservation #%(id)s. Send /myreservations to see yours.") % {
                "id": reservation_id
            }
        case NotCancellable(reservation=reservation):
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
            return _(
                "Reservation #%(id)s can't be cancelled: it is already fulfilled: "
                "the book is back in stock."
            ) % {"id": reservation.id}
        case NotAnAdmin():
            return _("Sorry, only the bookstore's staff can do that.")
        case NotOnHold() | StockBelowHolds():
            return hold_refusal(error)
        case QuantityOutOfRange(maximum=maximum):
            return _("The quantity must be a whole number from 0 to %(maximum)s.") % {
                "maximum": catalogs.number(maximum)
            }
        case BookFieldInvalid(field=field, limit=limit):
            return (
                _("The title must be between 1 and %(limit)s characters.")
                if field == "title"
                else _("The author must be between 1 and %(limit)s characters.")
            ) % {"limit": limit}
        case DuplicateBook(book_id=book_id, title=title, author=author):
            return _("That book is already in the catalog as #%(id)s %(book)s.") % {
                "id": book_id,
                "book": book_name(title, author),
            }
        case RepeatedInFile(first_line=first_line):
            return _("The same title and author are already on line %(line)s.") % {
                "line": first_line
            }
        case MalformedRow(field_count=field_count):
            return _("Expected 3 fields (title, author, quantity), found %(count)s.") % {
                "count": field_count
            }
        case SearchTooLong(limit=limit):
            return _("Please search with at most %(limit)s characters.") % {"limit": limit}
        case UsageError(command=command):
            usage = _(USAGE[command]) if command in USAGE else "/" + command
            return _("Usage: %(usage)s") % {"usage": usage}
        case NotPrivateChat():
            return _("Reservations are personal: please talk to me in a private chat.")
        case InvalidButton():
            return _("That button is out of date. Send /books or /myreservations for fresh ones.")
    return _("Sorry, I can't do that.")


def something_went_wrong() -> str:
    return _("Sorry, something went wrong on my side. Please try again in a moment.")


def temporarily_unavailable() -> str:
    return _("The bookstore's system is temporarily unavailable. Please try again in a minute.")


# Holds (RESTOCK_POLICY=hold_in_line)


def deadline(when: datetime) -> str:
    """A hold's deadline, short: Fri 27 Nov, 18:00 (in the time's own zone)."""
    return catalogs.deadline(when)


# English ordinals: the suffix depends on the number's last digits (0: "th").
ORDINAL_IN_LINE = {
    1: N_("%(place)sst in line"),
    2: N_("%(place)snd in line"),
    3: N_("%(place)srd in line"),
    0: N_("%(place)sth in line"),
}


def place_in_line(place: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st in line."""
    last = 0 if 10 <= place % 100 <= 20 or place % 10 > 3 else place % 10
    return _(ORDINAL_IN_LINE[last]) % {"place": place}


def hold_detail(reservation: ReservationView) -> str:
    """The line under a reservation: its place in line, or until when a copy is kept."""
    if reservation.status is ReservationStatus.WAITING and reservation.place_in_line:
        return f" · {place_in_line(reservation.place_in_line)}"
    if reservation.status is ReservationStatus.ON_HOLD and reservation.hold_expires_at:
        return "\n    " + _("kept for you until %(deadline)s") % {
            "deadline": deadline(reservation.hold_expires_at)
        }
    return ""


def release_button(reservation_id: int) -> str:
    return shortened(_("Don't need it (#%(id)s)") % {"id": reservation_id})


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


def restock_report(result: Restock | LineRestock) -> str:
    """What /restock did, under either policy."""
    if isinstance(result, Restock):
        return restocked(result)
    return restocked_in_line(result)


def restocked_in_line(restock: LineRestock) -> str:
    book = restock.book
    text = _("Stock of #%(id)s %(book)s: %(old)s → %(new)s.") % {
        "id": book.id,
        "book": book_name(book.title, book.author),
        "old": restock.old_stock,
        "new": restock.new_stock,
    }
    if restock.set_aside:
        text += " " + ngettext(
            "%(count)s copy set aside for the first %(count)s of %(line)s in line;",
            "%(count)s copies set aside for the first %(count)s of %(line)s in line;",
            restock.set_aside,
        ) % {
            "count": restock.set_aside,
            "line": readers_in_line(restock.waiting_before, restock.line_longer),
        }
        text += " " + _("%(still)s still waiting.") % {
            "still": counted(restock.still_waiting, restock.line_longer)
        }
    elif restock.waiting_before:
        text += " " + _("No free copy: %(still)s still waiting.") % {
            "still": counted(restock.waiting_before, restock.line_longer)
        }
    else:
        text += " " + _("Nobody is waiting for it.")
    return text


def readers_in_line(count: int, more: bool) -> str:
    return ngettext("%(count)s reader", "%(count)s readers", count) % {
        "count": counted(count, more)
    }


def counted(count: int, more: bool = False) -> str:
    """1,000, or 1,000+ when there were more than were counted."""
    return catalogs.number(count) + ("+" if more else "")


def reader_name(first_name: str | None, username: str | None) -> str:
    if username:
        return f"@{escape(username)}"
    return escape(first_name) if first_name else _("a reader")


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
        lines = [
            _(
                "<b>Holds</b> for #%(id)s %(book)s: %(held)s on hold, %(free)s free, "
                "%(waiting)s waiting."
            )
            % {
                "id": book.id,
                "book": book_name(book.title, book.author, units),
                "held": len(report.holds),
                "free": report.free,
                "waiting": counted(report.waiting, report.line_longer),
            },
        ]
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


def truncated_html(render: Callable[[int | None], str]) -> str:
    text = render(None)
    if plain_length(text) <= MESSAGE_LIMIT:
        return text
    lines = text.split("\n")
    while len(lines) > 1 and plain_length("\n".join([*lines, "…"])) > MESSAGE_LIMIT:
        lines.pop()
    return "\n".join([*lines, "…"])


HOLD_STATES = {
    ReservationStatus.WAITING: N_("waiting"),
    ReservationStatus.NOTIFIED: N_("notified"),
    ReservationStatus.CANCELLED: N_("cancelled"),
    ReservationStatus.ON_HOLD: N_("on hold"),
    ReservationStatus.COLLECTED: N_("collected"),
    ReservationStatus.EXPIRED: N_("expired"),
}


def hold_refusal(error: NotOnHold | StockBelowHolds) -> str:
    match error:
        case NotOnHold(reservation_id=reservation_id, status=None):
            return _("There is no reservation #%(id)s.") % {"id": reservation_id}
        case NotOnHold(reservation_id=reservation_id, status=status):
            assert status is not None
            return _(
                "Reservation #%(id)s is not on hold (it is %(state)s): "
                "only a held copy can be collected."
            ) % {"id": reservation_id, "state": _(HOLD_STATES[status])}
        case StockBelowHolds(book=book, holds=holds):
            names = ", ".join(f"#{hold.reservation_id}" for hold in holds[:20])
            more = "…" if len(holds) > 20 else ""
            return ngettext(
                "%(book)s has %(count)s copy on hold (%(ids)s): the stock can't go below "
                "that. Collect or release them first (/collected, /holds).",
                "%(book)s has %(count)s copies on hold (%(ids)s): the stock can't go below "
                "that. Collect or release them first (/collected, /holds).",
                len(holds),
            ) % {
                "book": book_name(book.title, book.author),
                "count": len(holds),
                "ids": names + more,
            }
    return _("Sorry, I can't do that.")


# Book cards, deep links and inline search


def book_card(card: BookCard, link: str) -> str:
    book = card.book
    lines = [
        f"#{book.id} {book_name(book.title, book.author)}",
        f"{availability(book, card.on_hold)} · {readers_waiting(card.readers_waiting)}",
        card_status(card.status),
        "",
        book_link_line(link),
    ]
    return "\n".join(lines)


def availability(book: BookView, on_hold: int = 0) -> str:
    """What a reader can buy now: copies on hold (hold_in_line) are spoken for."""
    free = book.stock_quantity - on_hold
    if free > 0:
        return _("✅ in stock: %(count)s") % {"count": free}
    if book.in_stock:
        return _("📦 all copies on hold")
    return _("❌ sold out")


def readers_waiting(count: int) -> str:
    if count == 0:
        return _("nobody waiting")
    return ngettext("%(count)s reader waiting", "%(count)s readers waiting", count) % {
        "count": count
    }


def card_status(status: ReaderStatus) -> str:
    match status:
        case Waiting(place=place, since=since):
            if place == 1:
                return _("⏳ You are first in line (since %(moment)s).") % {
                    "moment": moment(since)
                }
            return _("⏳ You are number %(place)s in line (since %(moment)s).") % {
                "place": place,
                "moment": moment(since),
            }
        case Notified(at=at):
            return _("📬 I told you it is back on %(moment)s: come by the shop.") % {
                "moment": moment(at)
            }
        case OnHold(reservation_id=reservation_id, until=until):
            return _(
                "📦 A copy is on hold for you until %(deadline)s: "
                "show reservation #%(id)s at the counter."
            ) % {"deadline": deadline(until), "id": reservation_id}
        case NoReservation():
            return _("You are not waiting for this book.")


def card_reserve_button() -> str:
    return _("Reserve: tell me when it's back")


def card_join_line_button() -> str:
    """Reserve while every copy is on hold: the reader joins the line for the next one."""
    return _("Reserve: join the line")


def card_cancel_button() -> str:
    return _("Cancel my reservation")


def book_link_line(link: str) -> str:
    """Under /addbook's reply: the link to share or print."""
    return _("Share this book: %(link)s") % {"link": escape(link)}


def inline_title(book: BookView) -> str:
    return shortened(book.title, 200)


def inline_description(item: BookInLine) -> str:
    return shortened(
        f"{item.book.author} · {as_plain(availability(item.book, item.on_hold))} · "
        f"{readers_waiting(item.readers_waiting)}",
        200,
    )


def inline_card(item: BookInLine) -> str:
    """The message an inline result puts in the chat."""
    book = item.book
    return (
        f"{book_name(book.title, book.author)}\n{availability(book, item.on_hold)} · "
        f"{readers_waiting(item.readers_waiting)}\n"
        + _("Reserve it in the bookstore's bot and be told when it's back.")
    )


def inline_reserve_button() -> str:
    return _("Reserve in the bot")


# Demand report (staff)

DEMAND_OUTCOME_LABELS = {
    "told": N_("told it's back"),
    "set_aside": N_("copy set aside"),
    "collected": N_("collected"),
    "released": N_("released"),
    "expired": N_("expired"),
    "cancelled": N_("cancelled"),
}
DEMAND_LISTED = 10
DEMAND_CHARTED = 15


def demand_outcome(name: str) -> str:
    return _(DEMAND_OUTCOME_LABELS[name]) if name in DEMAND_OUTCOME_LABELS else name


def demand_report(report: DemandReport) -> str:
    if not report.books:
        return _(
            "Nobody is waiting for any book, and no reservation ended in the last %(days)s days."
        ) % {"days": report.days}
    waiting = sum(1 for book in report.books if book.waiting)
    heading = (
        _("<b>Demand</b> on %(moment)s:") % {"moment": moment(report.generated_at)}
        + " "
        + ngettext(
            "%(readers)s reader waiting for %(books)s",
            "%(readers)s readers waiting for %(books)s",
            report.readers_waiting,
        )
        % {
            "readers": catalogs.number(report.readers_waiting),
            "books": ngettext("%(count)s book.", "%(count)s books.", waiting)
            % {"count": catalogs.number(waiting)},
        }
    )
    if report.holds:
        heading += " " + ngettext(
            "%(count)s copy on hold.", "%(count)s copies on hold.", report.copies_on_hold
        ) % {"count": catalogs.number(report.copies_on_hold)}
    listed = report.books[:DEMAND_LISTED]

    def render(units: int | None) -> str:
        lines = [
            heading,
            _("Top %(listed)s; the chart shows %(charted)s, the CSV all:")
            % {"listed": len(listed), "charted": DEMAND_CHARTED},
            "",
        ]
        for place, demand in enumerate(listed, 1):
            lines.append(f"{place}. {demand_entry(demand, report, units)}")
        return "\n".join(lines)

    return fitted(render, len(listed))


def demand_entry(demand: BookDemand, report: DemandReport, units: int | None = None) -> str:
    book = demand.book
    recent = " · ".join(
        f"{demand_outcome(name)} {catalogs.number(count)}"
        for name, count in zip(report.outcomes, demand.recent, strict=True)
    )
    values = {
        "id": book.id,
        "book": book_name(book.title, book.author, units),
        "waiting": catalogs.number(demand.waiting),
        "held": catalogs.number(demand.on_hold),
        "days": report.days,
        "recent": recent,
    }
    if report.holds:
        if demand.oldest_wait is None:
            return (
                _(
                    "#%(id)s %(book)s: %(waiting)s waiting, %(held)s on hold\n"
                    "    last %(days)s days: %(recent)s"
                )
                % values
            )
        return _(
            "#%(id)s %(book)s: %(waiting)s waiting, %(held)s on hold, the longest waiting "
            "since %(moment)s\n    last %(days)s days: %(recent)s"
        ) % {**values, "moment": moment(demand.oldest_wait)}
    if demand.oldest_wait is None:
        return _("#%(id)s %(book)s: %(waiting)s waiting\n    last %(days)s days: %(recent)s") % (
            values
        )
    return _(
        "#%(id)s %(book)s: %(waiting)s waiting, the longest since %(moment)s\n"
        "    last %(days)s days: %(recent)s"
    ) % {**values, "moment": moment(demand.oldest_wait)}


def demand_chart_title(report: DemandReport) -> str:
    if report.holds:
        return _("Readers waiting and copies on hold: top %(charted)s, %(moment)s") % {
            "charted": DEMAND_CHARTED,
            "moment": moment(report.generated_at),
        }
    return _("Readers waiting: top %(charted)s, %(moment)s") % {
        "charted": DEMAND_CHARTED,
        "moment": moment(report.generated_at),
    }


def demand_chart_axis(report: DemandReport) -> str:
    return _("readers") if report.holds else _("readers waiting")


def demand_chart_series(report: DemandReport) -> list[str]:
    """The bars' legend: one series, or waiting and on hold stacked."""
    return [_("readers waiting"), _("copies on hold")] if report.holds else [_("readers waiting")]


def demand_chart_label(demand: BookDemand) -> str:
    """Plain text: a chart is no HTML."""
    return f"#{demand.book.id} {demand.book.title}"


def demand_csv_header(report: DemandReport) -> list[str]:
    recent = [
        _("%(outcome)s (last %(days)s days)")
        % {"outcome": demand_outcome(name), "days": report.days}
        for name in report.outcomes
    ]
    return [
        _("book id"),
        _("title"),
        _("author"),
        _("in stock"),
        _("readers waiting"),
        *([_("copies on hold")] if report.holds else []),
        _("oldest wait (%(zone)s)") % {"zone": report.generated_at.tzname()},
        *recent,
    ]


# Shelf tags (printed, and the terminal's answer)


def shelf_tag_call_to_scan() -> str:
    return _("Scan to be told when it's back")


def shelf_tags_written(count: int, path: str) -> str:
    """Plain text for the terminal."""
    return ngettext(
        "Wrote %(count)s shelf tag to %(path)s.", "Wrote %(count)s shelf tags to %(path)s.", count
    ) % {"count": count, "path": path}
