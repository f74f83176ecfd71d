"""What the Mini App's API answers, as JSON: the chat's own words, made plain text (the
page shows them as text, never as HTML)."""

from typing import Any

from bot.books.schemas import BookPage, BookView
from bot.cards.schemas import BookCard, NoReservation, OnHold, Paused, Waiting
from bot.mini_app.covers import CoverSource, drawn_cover_url
from bot.reservations.models import ReservationStatus
from bot.reservations.schemas import ReservationPage, ReservationView
from bot.telegram.texts import cards, catalog, mini_app, reservations
from bot.telegram.texts.formatting import as_plain

Json = dict[str, Any]


def book_json(book: BookView, on_hold: int = 0, covers: CoverSource | None = None) -> Json:
    """A book as the grid shows it (book's stock already less its holds, unless on_hold).
    Its cover: the drawn one itself (cover_image, a data: URL) when it can only be that
    (no covers service, or no ISBN); else the page asks `cover` for it."""
    drawn = covers is None or book.isbn is None
    return {
        "id": book.id,
        "title": book.title,
        "author": book.author,
        "isbn": book.isbn,
        "available": as_plain(catalog.availability(book, on_hold)),
        "in_stock": book.stock_quantity - on_hold > 0,
        "withdrawn": book.withdrawn,
        "cover": f"/app/api/books/{book.id}/cover",
        "cover_image": drawn_cover_url(book.title, book.author) if drawn else None,
    }


def page_json(page: BookPage, covers: CoverSource | None = None) -> Json:
    return {
        "books": [book_json(book, covers=covers) for book in page.books],
        "page": page.number,
        "pages": page.page_count,
        "more": page.more,
        "total": page.total,
        "query": page.query,
    }


def card_json(card: BookCard, covers: CoverSource | None = None) -> Json:
    """A book's page: its availability, the reader's place, and the one action that fits."""
    return {
        **book_json(card.book, card.on_hold, covers),
        "status": as_plain(cards.card_status(card.status)),
        "waiting": as_plain(cards.readers_waiting(card.readers_waiting, card.readers_paused)),
        "action": card_action(card),
    }


def card_action(card: BookCard) -> Json | None:
    """As the chat's card keyboard: Reserve a sold-out book (not withdrawn), Cancel a wait,
    let a held copy go."""
    match card.status:
        case Waiting(reservation_id=reservation_id) | Paused(reservation_id=reservation_id):
            return action("cancel", cards.card_cancel_button(), reservation_id)
        case OnHold(reservation_id=reservation_id):
            return action("release", mini_app.release_button(), reservation_id)
        case NoReservation() if card.free_copies == 0 and not card.book.withdrawn:
            label = cards.card_join_line_button() if card.on_hold else cards.card_reserve_button()
            return action("reserve", label, None)
    return None


def action(kind: str, label: str, reservation_id: int | None) -> Json:
    return {"kind": kind, "label": label, "reservation_id": reservation_id}


def reservation_json(reservation: ReservationView) -> Json:
    found = None
    if reservation.status in (ReservationStatus.WAITING, ReservationStatus.PAUSED):
        found = action("cancel", cards.card_cancel_button(), reservation.id)
    elif reservation.status is ReservationStatus.ON_HOLD:
        found = action("release", mini_app.release_button(), reservation.id)
    return {
        "id": reservation.id,
        "book_id": reservation.book_id,
        "title": reservation.title,
        "author": reservation.author,
        "status": reservation.status.value,
        "text": as_plain(reservations.reservation_entry(reservation)),
        "action": found,
        "cover": f"/app/api/books/{reservation.book_id}/cover",
    }


def reservations_json(page: ReservationPage) -> Json:
    return {
        "reservations": [reservation_json(each) for each in page.reservations],
        "page": page.number,
        "pages": page.page_count,
    }
