"""The staff's /restock (under either policy) and /addbook, and the refusals of the
catalog's rules (also given for the rows of an imported file)."""

from bot.books.errors import (
    BookFieldInvalid,
    DuplicateBook,
    MalformedRow,
    QuantityOutOfRange,
    RepeatedInFile,
)
from bot.books.schemas import BookView
from bot.holds.schemas import LineRestock
from bot.i18n import catalogs
from bot.i18n.catalogs import _, ngettext
from bot.restocks.schemas import Restock
from bot.telegram.texts import withdrawals
from bot.telegram.texts.formatting import book_name, counted
from bot.users.errors import NotAnAdmin


def restock_report(result: Restock | LineRestock) -> str:
    """What /restock did, under either policy."""
    text = restocked(result) if isinstance(result, Restock) else restocked_in_line(result)
    return f"{text} {withdrawals.reinstated()}" if result.reinstated else text


def stock_changed(book: BookView, old_stock: int, new_stock: int) -> str:
    return _("Stock of #%(id)s %(book)s: %(old)s → %(new)s.") % {
        "id": book.id,
        "book": book_name(book.title, book.author),
        "old": old_stock,
        "new": new_stock,
    }


def restocked(restock: Restock) -> str:
    book = restock.book
    text = stock_changed(book, restock.old_stock, restock.new_stock)
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


def restocked_in_line(restock: LineRestock) -> str:
    book = restock.book
    text = stock_changed(book, restock.old_stock, restock.new_stock)
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


def book_added(book: BookView) -> str:
    name = book_name(book.title, book.author)
    return _("Added #%(id)s %(book)s with %(count)s in stock.") % {
        "id": book.id,
        "book": name,
        "count": book.stock_quantity,
    }


def not_an_admin(error: NotAnAdmin) -> str:
    return _("Sorry, only the bookstore's staff can do that.")


def quantity_out_of_range(error: QuantityOutOfRange) -> str:
    return _("The quantity must be a whole number from 0 to %(maximum)s.") % {
        "maximum": catalogs.number(error.maximum)
    }


def book_field_invalid(error: BookFieldInvalid) -> str:
    return (
        _("The title must be between 1 and %(limit)s characters.")
        if error.field == "title"
        else _("The author must be between 1 and %(limit)s characters.")
    ) % {"limit": error.limit}


def duplicate_book(error: DuplicateBook) -> str:
    return _("That book is already in the catalog as #%(id)s %(book)s.") % {
        "id": error.book_id,
        "book": book_name(error.title, error.author),
    }


def repeated_in_file(error: RepeatedInFile) -> str:
    return _("The same title and author are already on line %(line)s.") % {
        "line": error.first_line
    }


def malformed_row(error: MalformedRow) -> str:
    if error.with_isbn:
        return _("Expected 4 fields (title, author, quantity, isbn), found %(count)s.") % {
            "count": error.field_count
        }
    return _("Expected 3 fields (title, author, quantity), found %(count)s.") % {
        "count": error.field_count
    }
