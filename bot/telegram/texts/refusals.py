"""Refused requests turned into words, in one place: the table below says which function
renders each domain's errors (each written beside its conversation) and the Telegram
layer's own refusals of input it can't parse; and the answers to failures of our own."""

from collections.abc import Callable
from typing import Any

from bot.books.errors import (
    AlreadyWithdrawn,
    BookFieldInvalid,
    BookMetadataUnavailable,
    BookNotFound,
    BookWithdrawn,
    DuplicateBook,
    IsbnInvalid,
    IsbnNotFound,
    MalformedRow,
    QuantityOutOfRange,
    RepeatedInFile,
    RepeatedIsbnInFile,
    SearchTooLong,
    WithdrawalReasonInvalid,
)
from bot.errors import DomainError
from bot.holds.errors import NotOnHold, StockBelowHolds
from bot.i18n.catalogs import N_, _
from bot.reservations.errors import (
    AlreadyWaiting,
    BookInStock,
    DayPassed,
    NotCancellable,
    NotPausable,
    NotPaused,
    ReservationEnded,
    ReservationNotFound,
    ResumeDayNotAhead,
    TooManyReservations,
)
from bot.special_orders.errors import (
    AlreadyRequested,
    AuthorUnknown,
    DeclineReasonInvalid,
    ExpectedDayPassed,
    OrderedBookInStock,
    RequestDecided,
    RequestFieldInvalid,
    RequestNotFound,
    TooManyRequests,
)
from bot.telegram.bad_input import BadInput, InvalidButton, NotADay, NotPrivateChat, UsageError
from bot.telegram.texts import (
    catalog,
    holds,
    isbns,
    needed_until,
    pause,
    reservations,
    special_orders,
    staff,
    withdrawals,
)
from bot.users.errors import NotAnAdmin

USAGE = {
    "search": N_("/search &lt;part of a title or author&gt;, for example /search tolstoy"),
    "reserve": N_("/reserve &lt;book id&gt;, for example /reserve 12"),
    "cancel": N_("/cancel &lt;reservation id&gt;, for example /cancel 7"),
    "restock": N_("/restock &lt;book id&gt; &lt;quantity&gt;, for example /restock 12 5"),
    "deliveries": N_("/deliveries &lt;book id&gt;, for example /deliveries 12"),
    "book": N_("/book &lt;book id or ISBN&gt;, for example /book 12"),
    "addbook": N_(
        "/addbook &lt;ISBN&gt; [| &lt;quantity&gt;], for example /addbook 9780441013593 | 2, "
        "or /addbook &lt;title&gt; | &lt;author&gt; | &lt;quantity&gt; [| &lt;ISBN&gt;], "
        "for example /addbook Dune | Frank Herbert | 0"
    ),
    "collected": N_("/collected &lt;reservation id&gt;, for example /collected 7"),
    "holds": N_("/holds &lt;book id&gt;, for example /holds 12"),
    "pause": N_(
        "/pause &lt;reservation id&gt; [YYYY-MM-DD], for example /pause 7, "
        "or /pause 7 2026-12-24 to resume by itself that day"
    ),
    "resume": N_("/resume &lt;reservation id&gt;, for example /resume 7"),
    "withdraw": N_(
        "/withdraw &lt;book id&gt; &lt;reason&gt;, for example /withdraw 12 out of print"
    ),
    "until": N_(
        "/until &lt;reservation id&gt; &lt;YYYY-MM-DD&gt; (or never), "
        "for example /until 7 2026-12-24"
    ),
    "updates": N_("/updates on or /updates off"),
    "request": N_(
        "/request &lt;ISBN&gt; or /request &lt;title&gt; | &lt;author&gt;, "
        "for example /request 978-0-441-01359-3 or /request Dune | Frank Herbert"
    ),
    "unrequest": N_("/unrequest &lt;request id&gt;, for example /unrequest 3"),
    "order": N_("/order &lt;request id&gt; [ISBN] [YYYY-MM-DD], for example /order 3 2026-12-24"),
    "decline": N_(
        "/decline &lt;request id&gt; &lt;reason&gt;, for example /decline 3 out of print"
    ),
}


def usage(error: UsageError) -> str:
    command = error.command
    text = _(USAGE[command]) if command in USAGE else "/" + command
    return _("Usage: %(usage)s") % {"usage": text}


def not_private_chat(error: NotPrivateChat) -> str:
    return _("Reservations are personal: please talk to me in a private chat.")


def invalid_button(error: InvalidButton) -> str:
    return _("That button is out of date. Send /books or /myreservations for fresh ones.")


# Each function takes the error listed with it; an error not listed gets the generic refusal.
REFUSALS: dict[type[DomainError | BadInput], Callable[[Any], str]] = {
    BookNotFound: catalog.book_not_found,
    SearchTooLong: catalog.search_too_long,
    BookInStock: reservations.book_in_stock,
    AlreadyWaiting: reservations.already_waiting,
    TooManyReservations: reservations.too_many_reservations,
    ReservationNotFound: reservations.reservation_not_found,
    NotCancellable: reservations.not_cancellable,
    DayPassed: needed_until.day_passed,
    ReservationEnded: needed_until.reservation_ended,
    NotOnHold: holds.not_on_hold,
    StockBelowHolds: holds.stock_below_holds,
    NotAnAdmin: staff.not_an_admin,
    QuantityOutOfRange: staff.quantity_out_of_range,
    BookFieldInvalid: staff.book_field_invalid,
    DuplicateBook: staff.duplicate_book,
    RepeatedInFile: staff.repeated_in_file,
    MalformedRow: staff.malformed_row,
    IsbnInvalid: isbns.isbn_invalid,
    BookMetadataUnavailable: isbns.metadata_unavailable,
    RepeatedIsbnInFile: isbns.repeated_isbn_in_file,
    IsbnNotFound: isbns.isbn_not_found,
    BookWithdrawn: withdrawals.book_withdrawn,
    AlreadyWithdrawn: withdrawals.already_withdrawn,
    WithdrawalReasonInvalid: withdrawals.withdrawal_reason_invalid,
    UsageError: usage,
    NotPrivateChat: not_private_chat,
    InvalidButton: invalid_button,
    NotPausable: pause.not_pausable,
    NotPaused: pause.not_paused,
    ResumeDayNotAhead: pause.resume_day_not_ahead,
    NotADay: pause.not_a_day,
    AlreadyRequested: special_orders.already_requested,
    TooManyRequests: special_orders.too_many_requests,
    RequestFieldInvalid: special_orders.request_field_invalid,
    RequestNotFound: special_orders.request_not_found,
    RequestDecided: special_orders.request_decided,
    ExpectedDayPassed: special_orders.expected_day_passed,
    AuthorUnknown: special_orders.author_unknown,
    DeclineReasonInvalid: special_orders.decline_reason_invalid,
    OrderedBookInStock: special_orders.ordered_book_in_stock,
}


def refusal(error: DomainError | BadInput) -> str:
    """What the reader is told when a rule or a parser refuses their request."""
    # Through the error's classes, as isinstance would: a subclass is refused as its parent.
    for kind in type(error).__mro__:
        if kind in REFUSALS:
            return REFUSALS[kind](error)
    return _("Sorry, I can't do that.")


def something_went_wrong() -> str:
    return _("Sorry, something went wrong on my side. Please try again in a moment.")


def temporarily_unavailable() -> str:
    return _("The bookstore's system is temporarily unavailable. Please try again in a minute.")
