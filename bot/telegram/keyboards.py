"""Inline keyboards under the catalog and reservation lists."""

from collections.abc import Callable, Iterable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.books.schemas import BookPage, BookView
from bot.cards.schemas import BookCard, NoReservation, OnHold, Paused, Waiting
from bot.i18n import languages
from bot.i18n.catalogs import N_, _
from bot.line.needed_until import Span
from bot.reservations.models import ReservationStatus
from bot.reservations.schemas import ReservationPage, ReservationView
from bot.special_orders.models import RequestStatus
from bot.special_orders.schemas import RequestsPage
from bot.telegram import callback_data
from bot.telegram.callback_data import (
    BooksPageButton,
    Button,
    CancelButton,
    LanguageButton,
    OrderRequestButton,
    PauseButton,
    RequestsPageButton,
    ReservationsPageButton,
    ReserveButton,
    ResumeButton,
    UntilButton,
    WithdrawRequestButton,
)
from bot.telegram.texts import (
    cards,
    catalog,
    holds,
    mini_app,
    needed_until,
    pause,
    reservations,
    special_orders,
)

PREVIOUS = N_("‹ Prev")
NEXT = N_("Next ›")


def books_keyboard(page: BookPage) -> InlineKeyboardMarkup | None:
    rows: list[list[tuple[str, Button]]] = [
        [(catalog.reserve_button(book), ReserveButton(book.id))]
        for book in page.books
        if book.reservable
    ]
    rows.append(
        _navigation(
            page.number, page.page_count, lambda n: BooksPageButton(n, page.query), page.more
        )
    )
    return _markup(rows)


def reservations_keyboard(page: ReservationPage) -> InlineKeyboardMarkup | None:
    rows: list[list[tuple[str, Button]]] = [
        [(special_orders.withdraw_button(request), WithdrawRequestButton(request.request_id, 1))]
        for request in page.requests
        if request.status == RequestStatus.OPEN.value
    ]
    rows += [_reservation_row(reservation, page.number) for reservation in page.reservations]
    rows.append(_navigation(page.number, page.page_count, ReservationsPageButton))
    return _markup(rows)


def _reservation_row(reservation: ReservationView, page: int) -> list[tuple[str, Button]]:
    """A waiting reservation's Cancel and Pause, a paused one's Resume and Cancel, a held
    copy's Don't need it; nothing for the others."""
    cancel = CancelButton(reservation.id, page)
    match reservation.status:
        case ReservationStatus.WAITING:
            return [
                (reservations.cancel_button(reservation), cancel),
                (pause.pause_button(reservation), PauseButton(reservation.id, page)),
            ]
        case ReservationStatus.PAUSED:
            return [
                (pause.resume_button(reservation), ResumeButton(reservation.id, page)),
                (reservations.cancel_button(reservation), cancel),
            ]
        case ReservationStatus.ON_HOLD:
            return [(holds.release_button(reservation.id), cancel)]
    return []


def until_keyboard(reservation_id: int) -> InlineKeyboardMarkup | None:
    """Under a new reservation's confirmation: only needed for this long (Until: 2 weeks,
    1 month, 3 months); pressing another replaces the day."""
    return _markup(
        [[(needed_until.span_button(span), UntilButton(reservation_id, span)) for span in Span]]
    )


def languages_keyboard() -> InlineKeyboardMarkup | None:
    """One button per language, each named in its own language."""
    return _markup([[(name, LanguageButton(code)) for code, name in languages.NAMES.items()]])


def search_fits_in_buttons(page: BookPage) -> bool:
    """Whether a search is short enough to ride in the page buttons' 64 bytes."""
    return callback_data.encode(BooksPageButton(page.page_count, page.query)) is not None


def _navigation(
    number: int, page_count: int, button_for: Callable[[int], Button], more: bool = False
) -> list[tuple[str, Button]]:
    """Prev and Next; more means pages follow beyond the page_count counted so far."""
    row = []
    if number > 1:
        row.append((_(PREVIOUS), button_for(number - 1)))
    if number < page_count or more:
        row.append((_(NEXT), button_for(number + 1)))
    return row


def _markup(rows: Iterable[list[tuple[str, Button]]]) -> InlineKeyboardMarkup | None:
    """Buttons whose data fits; rows left empty are dropped; None when nothing is left."""
    keyboard = []
    for row in rows:
        buttons = [
            InlineKeyboardButton(label, callback_data=data)
            for label, button in row
            if (data := callback_data.encode(button)) is not None
        ]
        if buttons:
            keyboard.append(buttons)
    return InlineKeyboardMarkup(keyboard) if keyboard else None


def card_keyboard(card: BookCard, web_app_url: str | None = None) -> InlineKeyboardMarkup | None:
    """The one button that fits the reader's state: Reserve a book with no free copy (and
    not withdrawn), Cancel a wait, or let a held copy go (the same release as the hold
    offer's button); with web_app_url, Open catalog (the Mini App) under it."""
    fitting = _card_button(card)
    rows = [] if fitting is None else [list(row) for row in fitting.inline_keyboard]
    if web_app_url is not None:
        rows.append(
            [InlineKeyboardButton(mini_app.open_catalog_button(), web_app=WebAppInfo(web_app_url))]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def _card_button(card: BookCard) -> InlineKeyboardMarkup | None:
    match card.status:
        case Waiting(reservation_id=reservation_id):
            return _markup([[(cards.card_cancel_button(), CancelButton(reservation_id, 1))]])
        case Paused(reservation_id=reservation_id):
            return _markup([[(pause.card_resume_button(), ResumeButton(reservation_id, 1))]])
        case OnHold(reservation_id=reservation_id):
            return _markup(
                [[(holds.release_button(reservation_id), CancelButton(reservation_id, 1))]]
            )
        case NoReservation() if card.free_copies == 0 and not card.book.withdrawn:
            label = cards.card_join_line_button() if card.on_hold else cards.card_reserve_button()
            return _markup([[(label, ReserveButton(card.book.id))]])
    return None


def inline_result_keyboard(link: str, book: BookView | None = None) -> InlineKeyboardMarkup:
    """Under an inline result, in someone else's chat: a link into the bot."""
    label = cards.inline_reserve_button(book)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=link)]])


def requests_keyboard(page: RequestsPage) -> InlineKeyboardMarkup | None:
    """Under staff's /requests: Order for each request, and the pages."""
    rows: list[list[tuple[str, Button]]] = [
        [(special_orders.order_button(request.id), OrderRequestButton(request.id))]
        for request in page.requests
    ]
    last = page.number + (1 if page.more else 0)
    rows.append(_navigation(page.number, last, RequestsPageButton))
    return _markup(rows)
