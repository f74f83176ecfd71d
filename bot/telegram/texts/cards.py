"""/book and its deep links: a book's card with the reader's own status, the link to
share it, and the same book as an inline search result in any chat."""

from html import escape

from bot.books.schemas import BookView
from bot.cards.schemas import (
    BookCard,
    BookInLine,
    NoReservation,
    Notified,
    OnHold,
    Paused,
    ReaderStatus,
    Waiting,
)
from bot.i18n.catalogs import _, ngettext
from bot.telegram.texts import isbns, pause, withdrawals
from bot.telegram.texts.catalog import availability
from bot.telegram.texts.formatting import (
    as_plain,
    book_name,
    deadline,
    expected_sentence,
    moment,
    shortened,
)


def book_card(card: BookCard, link: str) -> str:
    book = card.book
    lines = [
        f"#{book.id} {book_name(book.title, book.author)}",
        *([isbns.isbn_line(book.isbn)] if book.isbn else []),
        f"{availability(book, card.on_hold)} · "
        f"{readers_waiting(card.readers_waiting, card.readers_paused)}",
        card_status(card.status),
        "",
        book_link_line(link),
    ]
    return "\n".join(lines)


def readers_waiting(count: int, paused: int = 0) -> str:
    """The line's length; the readers paused beside it, only when there are any."""
    if count == 0:
        waiting = _("nobody waiting")
    else:
        waiting = ngettext("%(count)s reader waiting", "%(count)s readers waiting", count) % {
            "count": count
        }
    if paused == 0:
        return waiting
    return ngettext("%(waiting)s, %(count)s paused", "%(waiting)s, %(count)s paused", paused) % {
        "waiting": waiting,
        "count": paused,
    }


def card_status(status: ReaderStatus) -> str:
    match status:
        case Waiting(place=place, since=since, expected_on=expected_on):
            if place == 1:
                text = _("⏳ You are first in line (since %(moment)s).") % {
                    "moment": moment(since)
                }
            else:
                text = _("⏳ You are number %(place)s in line (since %(moment)s).") % {
                    "place": place,
                    "moment": moment(since),
                }
            if expected_on is None:
                return text
            return f"{text}\n{expected_sentence(expected_on)}"
        case Paused():
            return pause.card_paused(status)
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
        + (
            withdrawals.inline_withdrawn()
            if book.withdrawn
            else _("Reserve it in the bookstore's bot and be told when it's back.")
        )
    )


def inline_reserve_button(book: BookView | None = None) -> str:
    """The link into the bot: to reserve, or only to open a withdrawn book's card."""
    if book is not None and book.withdrawn:
        return withdrawals.inline_open_button()
    return _("Reserve in the bot")
