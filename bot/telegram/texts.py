"""Every text the bot shows a person, as HTML with user data escaped."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
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
from bot.books.service import Restock
from bot.cards.schemas import BookCard, BookInLine, NoReservation, Notified, ReaderStatus, Waiting
from bot.demand.schemas import BookDemand, DemandReport
from bot.errors import DomainError
from bot.holds.errors import NotOnHold, StockBelowHolds
from bot.holds.schemas import Collection, HoldsReport, LineRestock
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
from bot.telegram.bad_input import BadInput, InvalidButton, NotPrivateChat, UsageError
from bot.telegram.lengths import CALLBACK_ANSWER_LIMIT, MESSAGE_LIMIT, truncated, utf16_length
from bot.users.errors import NotAnAdmin

READER_COMMANDS = {
    "books": "browse the catalog (or /books <text> to search)",
    "search": "find books by title or author",
    "reserve": "wait for an out-of-stock book: /reserve <book id>",
    "myreservations": "see your reservations",
    "cancel": "cancel a reservation: /cancel <reservation id>",
    "help": "show this list",
    "book": "a book's card, to reserve or share it: /book <book id>",
}
ADMIN_COMMANDS = {
    "restock": "set a book's stock: /restock <book id> <quantity>",
    "addbook": "add a book: /addbook <title> | <author> | <quantity>",
    "deliveries": "how a book's back-in-stock messages are going: /deliveries <book id>",
    "collected": "a reader took their held copy: /collected <reservation id>",
    "holds": "a book's copies on hold and its line: /holds <book id>",
    "demand": "which books readers wait for most, with a chart and a CSV",
}
USAGE = {
    "search": "/search &lt;part of a title or author&gt;, for example /search tolstoy",
    "reserve": "/reserve &lt;book id&gt;, for example /reserve 12",
    "cancel": "/cancel &lt;reservation id&gt;, for example /cancel 7",
    "restock": "/restock &lt;book id&gt; &lt;quantity&gt;, for example /restock 12 5",
    "deliveries": "/deliveries &lt;book id&gt;, for example /deliveries 12",
    "book": "/book &lt;book id&gt;, for example /book 12",
    "addbook": "/addbook &lt;title&gt; | &lt;author&gt; | &lt;quantity&gt;, "
    "for example /addbook Dune | Frank Herbert | 0",
    "collected": "/collected &lt;reservation id&gt;, for example /collected 7",
    "holds": "/holds &lt;book id&gt;, for example /holds 12",
}
STATUS_LABELS = {
    ReservationStatus.WAITING: "⏳ waiting since",
    ReservationStatus.NOTIFIED: "📬 back in stock, told you on",
    ReservationStatus.CANCELLED: "✖️ cancelled on",
    ReservationStatus.ON_HOLD: "📦 set aside for you on",
    ReservationStatus.COLLECTED: "✅ collected on",
    ReservationStatus.EXPIRED: "⌛ not collected in time, ended on",
}
BUTTON_LABEL_LENGTH = 40


def moment(when: datetime) -> str:
    """In the time's own zone (services give times in the shop's), UTC when it has none."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.strftime("%d %b %Y, %H:%M %Z")


def book_name(title: str, author: str, units: int | None = None) -> str:
    """Title and author, cut together to `units` UTF-16 units when given (before escaping,
    so no tag or entity is ever cut)."""
    if units is not None:
        author_units = min(utf16_length(author), max(units - utf16_length(title), units // 3))
        title, author = truncated(title, units - author_units), truncated(author, author_units)
    return f"<b>{escape(title)}</b> by {escape(author)}"


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
    greeting = f"Hello, {escape(first_name)}!" if first_name else "Hello!"
    return (
        f"{greeting} I keep your place in line for books that are sold out, and I message "
        "you the moment one is back on the shelf.\n\n" + help_text(is_admin)
    )


def help_text(is_admin: bool) -> str:
    lines = ["<b>What I can do</b>"]
    lines += [f"/{name} — {escape(what)}" for name, what in READER_COMMANDS.items()]
    if is_admin:
        lines += ["", "<b>For staff</b>"]
        lines += [f"/{name} — {escape(what)}" for name, what in ADMIN_COMMANDS.items()]
    return "\n".join(lines)


def unknown_command() -> str:
    return "I don't know that command. Send /help to see what I can do."


def not_a_command() -> str:
    return "I understand commands only. Send /books to browse, or /help for the list."


# Catalog


def book_page(page: BookPage) -> str:
    if page.total == 0:
        if page.query:
            return f"No books match “{escape(page.query)}”. Try /books for the whole catalog."
        return "The catalog is empty for now."
    heading = f"<b>Books matching “{escape(page.query)}”</b>" if page.query else "<b>Catalog</b>"

    def render(units: int | None) -> str:
        of = f"{page.page_count}+" if page.more else f"{page.page_count}"
        lines = [f"{heading} (page {page.number} of {of})", ""]
        lines += [catalog_entry(book, units) for book in page.books]
        if any(not book.in_stock for book in page.books):
            lines += ["", "Tap Reserve to be told when a sold-out book is back."]
        return "\n".join(lines)

    return fitted(render, len(page.books))


def catalog_entry(book: BookView, units: int | None = None) -> str:
    name = book_name(book.title, book.author, units)
    return f"#{book.id} {name}\n    {availability(book)} · {card_command(book.id)}"


def reserve_button(book: BookView) -> str:
    return shortened(f"Reserve #{book.id} {book.title}")


def search_unpaged(page: BookPage) -> str:
    """Shown under a search too long to carry in the page buttons."""
    total = f"more than {page.total}" if page.more else f"{page.total}"
    return f"Showing the first {len(page.books)} of {total}: narrow your search to see the rest."


# Reservations


def reserved(confirmation: Confirmation) -> str:
    book = confirmation.book
    place = confirmation.queue_position
    ahead = "you are first in line" if place == 1 else f"you are number {place} in line"
    return (
        f"Reserved {book_name(book.title, book.author)} "
        f"(reservation #{confirmation.reservation_id}); {ahead}. "
        "I'll message you as soon as it is back in stock."
    )


def reserved_short(confirmation: Confirmation) -> str:
    return truncated(
        f"Reserved: number {confirmation.queue_position} in line", CALLBACK_ANSWER_LIMIT
    )


def reservation_page(page: ReservationPage) -> str:
    if page.total == 0:
        return (
            "You have no reservations yet. Find a sold-out book with /books "
            "and tap Reserve, or send /reserve &lt;book id&gt;."
        )

    def render(units: int | None) -> str:
        lines = [f"<b>Your reservations</b> (page {page.number} of {page.page_count})", ""]
        lines += [reservation_entry(reservation, units) for reservation in page.reservations]
        return "\n".join(lines)

    return fitted(render, len(page.reservations))


def reservation_entry(reservation: ReservationView, units: int | None = None) -> str:
    label = STATUS_LABELS[reservation.status]
    text = (
        f"#{reservation.id} {book_name(reservation.title, reservation.author, units)}\n"
        f"    {label} {moment(reservation.status_since)}"
    )
    return text + hold_detail(reservation)


def cancel_button(reservation: ReservationView) -> str:
    return shortened(f"Cancel #{reservation.id} {reservation.title}")


def cancelled(cancellation: Cancellation) -> str:
    reservation = cancellation.reservation
    return (
        f"Cancelled reservation #{reservation.id} for "
        f"{book_name(reservation.title, reservation.author)}."
    )


def cancelled_short() -> str:
    return "Reservation cancelled"


# Staff


def restocked(restock: Restock) -> str:
    book = restock.book
    text = (
        f"Stock of #{book.id} {book_name(book.title, book.author)}: "
        f"{restock.old_stock} → {restock.new_stock}."
    )
    count = len(restock.notified)
    if restock.old_stock == 0 and restock.new_stock > 0:
        readers = f"{count} waiting reader{'' if count == 1 else 's'}"
        text += f" Notified {readers}: {count} message{'' if count == 1 else 's'} queued."
        if count:
            text += f" Follow them with /deliveries {book.id}."
    else:
        text += " Nobody to notify: the book was not going from sold out to in stock."
    return text


def book_added(book: BookView) -> str:
    name = book_name(book.title, book.author)
    return f"Added #{book.id} {name} with {book.stock_quantity} in stock."


def back_in_stock(book: BookView) -> str:
    return (
        f"📚 Good news: {book_name(book.title, book.author)} is back in stock! "
        "Come by the shop soon, copies go fast."
    )


def delivery_report(report: DeliveryReport, paused_since: datetime | None = None) -> str:
    name = f"#{report.book_id} {book_name(report.title, report.author)}"
    if report.restocked_at is None:
        return f"No restock of {name} has notified anyone yet."
    text = (
        f"Back-in-stock messages for {name}, restocked {moment(report.restocked_at)}:\n"
        f"✅ sent: {report.sent}\n⏳ pending: {report.pending}\n❌ failed: {report.failed}"
    )
    if paused_since is not None:
        text += f"\n⏸ paused: Telegram unreachable since {moment(paused_since)}"
    return text


def import_report(report: ImportReport) -> str:
    """Plain text for the terminal."""
    lines = [f"Imported {report.imported} book{'' if report.imported == 1 else 's'}."]
    if report.rejected:
        lines.append(f"Rejected {len(report.rejected)}:")
        lines += [f"  line {row.line}: {as_plain(refusal(row.error))}" for row in report.rejected]
    return "\n".join(lines)


# Refusals and failures


def refusal(error: DomainError | BadInput) -> str:
    """What the reader is told when a rule or a parser refuses their request."""
    match error:
        case BookNotFound(book_id=book_id):
            return f"There is no book #{book_id}. Send /books to see the catalog."
        case BookInStock(book=book):
            return (
                f"{book_name(book.title, book.author)} is in stock "
                f"({book.stock_quantity}): you can buy it now, no need to wait."
            )
        case AlreadyWaiting(book=book):
            return (
                f"You are already waiting for {book_name(book.title, book.author)}. "
                "See /myreservations."
            )
        case ReservationNotFound(reservation_id=reservation_id):
            return f"You have no reservation #{reservation_id}. Send /myreservations to see yours."
        case NotCancellable(reservation=reservation):
            state = {
                ReservationStatus.CANCELLED: "already cancelled",
                ReservationStatus.COLLECTED: "already collected",
                ReservationStatus.EXPIRED: "over: the copy kept for you was not collected in time",
            }.get(reservation.status, "already fulfilled: the book is back in stock")
            return f"Reservation #{reservation.id} can't be cancelled: it is {state}."
        case NotAnAdmin():
            return "Sorry, only the bookstore's staff can do that."
        case NotOnHold() | StockBelowHolds():
            return hold_refusal(error)
        case QuantityOutOfRange(maximum=maximum):
            return f"The quantity must be a whole number from 0 to {maximum:,}."
        case BookFieldInvalid(field=field, limit=limit):
            return f"The {field} must be between 1 and {limit} characters."
        case DuplicateBook(book_id=book_id, title=title, author=author):
            return f"That book is already in the catalog as #{book_id} {book_name(title, author)}."
        case RepeatedInFile(first_line=first_line):
            return f"The same title and author are already on line {first_line}."
        case MalformedRow(field_count=field_count):
            return f"Expected 3 fields (title, author, quantity), found {field_count}."
        case SearchTooLong(limit=limit):
            return f"Please search with at most {limit} characters."
        case UsageError(command=command):
            return f"Usage: {USAGE.get(command, '/' + command)}"
        case NotPrivateChat():
            return "Reservations are personal: please talk to me in a private chat."
        case InvalidButton():
            return "That button is out of date. Send /books or /myreservations for fresh ones."
    return "Sorry, I can't do that."


def something_went_wrong() -> str:
    return "Sorry, something went wrong on my side. Please try again in a moment."


def temporarily_unavailable() -> str:
    return "The bookstore's system is temporarily unavailable. Please try again in a minute."


# Holds (RESTOCK_POLICY=hold_in_line)


def deadline(when: datetime) -> str:
    """A hold's deadline, short: Fri 27 Nov, 18:00 (in the time's own zone)."""
    return when.strftime("%a %d %b, %H:%M")


def place_in_line(place: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st in line."""
    suffix = "th" if 10 <= place % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(place % 10, "th")
    return f"{place}{suffix} in line"


def hold_detail(reservation: ReservationView) -> str:
    """The line under a reservation: its place in line, or until when a copy is kept."""
    if reservation.status is ReservationStatus.WAITING and reservation.place_in_line:
        return f" · {place_in_line(reservation.place_in_line)}"
    if reservation.status is ReservationStatus.ON_HOLD and reservation.hold_expires_at:
        return f"\n    kept for you until {deadline(reservation.hold_expires_at)}"
    return ""


def release_button(reservation_id: int) -> str:
    return shortened(f"Don't need it (#{reservation_id})")


def hold_offer(title: str, author: str, reservation_id: int, until: datetime) -> str:
    return (
        f"📦 A copy of {book_name(title, author)} is set aside for you until "
        f"{deadline(until)}. Show reservation #{reservation_id} at the counter."
    )


def hold_reminder(title: str, author: str, reservation_id: int, until: datetime) -> str:
    return (
        f"⏰ A reminder: your copy of {book_name(title, author)} is kept until "
        f"{deadline(until)}. Show reservation #{reservation_id} at the counter."
    )


def hold_expired(title: str, author: str, reservation_id: int, until: datetime) -> str:
    return (
        f"The copy of {book_name(title, author)} kept for you until {deadline(until)} "
        f"has gone to the next reader (reservation #{reservation_id}). No harm done: "
        "if you still want it, reserve it again with /books."
    )


def restock_report(result: Restock | LineRestock) -> str:
    """What /restock did, under either policy."""
    if isinstance(result, Restock):
        return restocked(result)
    return restocked_in_line(result)


def restocked_in_line(restock: LineRestock) -> str:
    book = restock.book
    text = (
        f"Stock of #{book.id} {book_name(book.title, book.author)}: "
        f"{restock.old_stock} → {restock.new_stock}."
    )
    if restock.set_aside:
        copies = f"{restock.set_aside} cop{'y' if restock.set_aside == 1 else 'ies'}"
        line = counted(restock.waiting_before, restock.line_longer)
        still = counted(restock.still_waiting, restock.line_longer)
        text += (
            f" {copies} set aside for the first {restock.set_aside} of "
            f"{line} reader{'' if line == '1' else 's'} in line; {still} still waiting."
        )
    elif restock.waiting_before:
        text += (
            f" No free copy: {counted(restock.waiting_before, restock.line_longer)} still waiting."
        )
    else:
        text += " Nobody is waiting for it."
    return text


def counted(count: int, more: bool = False) -> str:
    """1,000, or 1,000+ when there were more than were counted."""
    return f"{count:,}{'+' if more else ''}"


def reader_name(first_name: str | None, username: str | None) -> str:
    if username:
        return f"@{escape(username)}"
    return escape(first_name) if first_name else "a reader"


def collected(collection: Collection) -> str:
    book = collection.book
    return (
        f"Reservation #{collection.reservation_id} collected: "
        f"{book_name(book.title, book.author)} now has {book.stock_quantity} in stock."
    )


def holds_report(report: HoldsReport) -> str:
    book = report.book

    def render(units: int | None) -> str:
        lines = [
            f"<b>Holds</b> for #{book.id} {book_name(book.title, book.author, units)}: "
            f"{len(report.holds)} on hold, {report.free} free, "
            f"{counted(report.waiting, report.line_longer)} waiting.",
        ]
        lines += [
            f"#{hold.reservation_id} {reader_name(hold.first_name, hold.username)} "
            f"until {deadline(hold.until)}"
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


def hold_refusal(error: NotOnHold | StockBelowHolds) -> str:
    match error:
        case NotOnHold(reservation_id=reservation_id, status=None):
            return f"There is no reservation #{reservation_id}."
        case NotOnHold(reservation_id=reservation_id, status=status):
            assert status is not None
            return (
                f"Reservation #{reservation_id} is not on hold (it is "
                f"{status.value.replace('_', ' ')}): only a held copy can be collected."
            )
        case StockBelowHolds(book=book, holds=holds):
            names = ", ".join(f"#{hold.reservation_id}" for hold in holds[:20])
            more = "…" if len(holds) > 20 else ""
            return (
                f"{book_name(book.title, book.author)} has {len(holds)} "
                f"cop{'y' if len(holds) == 1 else 'ies'} on hold ({names}{more}): the stock "
                "can't go below that. Collect or release them first (/collected, /holds)."
            )
    return "Sorry, I can't do that."


# Book cards, deep links and inline search


def book_card(card: BookCard, link: str) -> str:
    book = card.book
    lines = [
        f"#{book.id} {book_name(book.title, book.author)}",
        f"{availability(book)} · {readers_waiting(card.readers_waiting)}",
        card_status(card.status),
        "",
        f"Share this book: {escape(link)}",
    ]
    return "\n".join(lines)


def availability(book: BookView) -> str:
    return f"✅ in stock: {book.stock_quantity}" if book.in_stock else "❌ sold out"


def readers_waiting(count: int) -> str:
    if count == 0:
        return "nobody waiting"
    return f"{count} reader{'' if count == 1 else 's'} waiting"


def card_status(status: ReaderStatus) -> str:
    match status:
        case Waiting(place=place, since=since):
            ahead = "first in line" if place == 1 else f"number {place} in line"
            return f"⏳ You are {ahead} (since {moment(since)})."
        case Notified(at=at):
            return f"📬 I told you it is back on {moment(at)}: come by the shop."
        case NoReservation():
            return "You are not waiting for this book."


def card_reserve_button() -> str:
    return "Reserve: tell me when it's back"


def card_cancel_button() -> str:
    return "Cancel my reservation"


def card_command(book_id: int) -> str:
    """The command link under each catalog entry that opens the book's card."""
    return f"/book_{book_id}"


def book_link_line(link: str) -> str:
    """Under /addbook's reply: the link to share or print."""
    return f"Share this book: {escape(link)}"


def inline_title(book: BookView) -> str:
    return shortened(book.title, 200)


def inline_description(item: BookInLine) -> str:
    return shortened(
        f"{item.book.author} · {as_plain(availability(item.book))} · "
        f"{readers_waiting(item.readers_waiting)}",
        200,
    )


def inline_card(item: BookInLine) -> str:
    """The message an inline result puts in the chat."""
    book = item.book
    return (
        f"{book_name(book.title, book.author)}\n{availability(book)} · "
        f"{readers_waiting(item.readers_waiting)}\n"
        "Reserve it in the bookstore's bot and be told when it's back."
    )


def inline_reserve_button() -> str:
    return "Reserve in the bot"


# Demand report (staff)

DEMAND_OUTCOME_LABELS = {"told": "told it's back", "cancelled": "cancelled"}
DEMAND_LISTED = 10
DEMAND_CHARTED = 15


def demand_outcome(name: str) -> str:
    return DEMAND_OUTCOME_LABELS.get(name, name)


def demand_report(report: DemandReport) -> str:
    if not report.books:
        return (
            f"Nobody is waiting for any book, and no reservation ended in the last "
            f"{report.days} days."
        )
    waiting = sum(1 for book in report.books if book.waiting)
    heading = (
        f"<b>Demand</b> on {moment(report.generated_at)}: {report.readers_waiting:,} "
        f"reader{'' if report.readers_waiting == 1 else 's'} waiting for {waiting:,} "
        f"book{'' if waiting == 1 else 's'}."
    )
    listed = report.books[:DEMAND_LISTED]

    def render(units: int | None) -> str:
        lines = [heading, f"Top {len(listed)}; the chart shows {DEMAND_CHARTED}, the CSV all:", ""]
        for place, demand in enumerate(listed, 1):
            lines.append(f"{place}. {demand_entry(demand, report, units)}")
        return "\n".join(lines)

    return fitted(render, len(listed))


def demand_entry(demand: BookDemand, report: DemandReport, units: int | None = None) -> str:
    book = demand.book
    since = (
        "" if demand.oldest_wait is None else f", the longest since {moment(demand.oldest_wait)}"
    )
    recent = " · ".join(
        f"{demand_outcome(name)} {count}"
        for name, count in zip(report.outcomes, demand.recent, strict=True)
    )
    return (
        f"#{book.id} {book_name(book.title, book.author, units)}: "
        f"{demand.waiting} waiting{since}\n"
        f"    last {report.days} days: {recent}"
    )


def demand_chart_title(report: DemandReport) -> str:
    return f"Readers waiting: top {DEMAND_CHARTED}, {moment(report.generated_at)}"


def demand_chart_axis() -> str:
    return "readers waiting"


def demand_chart_label(demand: BookDemand) -> str:
    """Plain text: a chart is no HTML."""
    return f"#{demand.book.id} {demand.book.title}"


def demand_csv_header(report: DemandReport) -> list[str]:
    recent = [f"{demand_outcome(name)} (last {report.days} days)" for name in report.outcomes]
    return [
        "book id",
        "title",
        "author",
        "in stock",
        "readers waiting",
        "oldest wait (UTC)",
        *recent,
    ]


def demand_csv_name(report: DemandReport) -> str:
    return f"demand-{report.generated_at.astimezone(UTC):%Y-%m-%d}.csv"


# Shelf tags (printed, and the terminal's answer)


def shelf_tag_call_to_scan() -> str:
    return "Scan to be told when it's back"


def shelf_tags_written(count: int, path: str) -> str:
    """Plain text for the terminal."""
    return f"Wrote {count} shelf tag{'' if count == 1 else 's'} to {path}."
