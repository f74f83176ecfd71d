"""/books and /search: the catalog page by page, what a reader can buy now, and the
refusals of a book that isn't there or a search too long."""

from html import escape

from bot.books.errors import BookNotFound, SearchTooLong
from bot.books.schemas import BookPage, BookView
from bot.i18n.catalogs import _
from bot.telegram import deep_links
from bot.telegram.texts import withdrawals
from bot.telegram.texts.formatting import book_name, fitted, shortened


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
        if any(book.reservable for book in page.books):
            lines += ["", _("Tap Reserve to be told when a sold-out book is back.")]
        return "\n".join(lines)

    return fitted(render, len(page.books))


def catalog_entry(book: BookView, units: int | None = None) -> str:
    name = book_name(book.title, book.author, units)
    return f"#{book.id} {name}\n    {availability(book)} · {deep_links.command_link(book.id)}"


def availability(book: BookView, on_hold: int = 0) -> str:
    """What a reader can buy now: copies on hold (hold_in_line) are spoken for; and a
    withdrawn book's reason (its last free copies may still be bought)."""
    free = book.stock_quantity - on_hold
    if book.withdrawn_reason is not None:
        withdrawn = withdrawals.withdrawn_label(book.withdrawn_reason)
        return f"{in_stock(free)} · {withdrawn}" if free > 0 else withdrawn
    if free > 0:
        return in_stock(free)
    if book.in_stock:
        return _("📦 all copies on hold")
    return _("❌ sold out")


def in_stock(free: int) -> str:
    return _("✅ in stock: %(count)s") % {"count": free}


def reserve_button(book: BookView) -> str:
    return shortened(_("Reserve #%(id)s %(title)s") % {"id": book.id, "title": book.title})


def search_unpaged(page: BookPage) -> str:
    """Shown under a search too long to carry in the page buttons."""
    total = _("more than %(count)s") % {"count": page.total} if page.more else f"{page.total}"
    return _("Showing the first %(shown)s of %(total)s: narrow your search to see the rest.") % {
        "shown": len(page.books),
        "total": total,
    }


def book_not_found(error: BookNotFound) -> str:
    return _("There is no book #%(id)s. Send /books to see the catalog.") % {"id": error.book_id}


def search_too_long(error: SearchTooLong) -> str:
    return _("Please search with at most %(limit)s characters.") % {"limit": error.limit}
