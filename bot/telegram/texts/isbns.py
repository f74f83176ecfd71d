"""Books by ISBN: /addbook <ISBN>'s refusals, the ISBN on a card, a repeated ISBN in an
imported file."""

from html import escape

from bot.books.errors import (
    BookMetadataUnavailable,
    IsbnInvalid,
    IsbnNotFound,
    RepeatedIsbnInFile,
)
from bot.books.isbn import hyphenated
from bot.i18n.catalogs import _


def isbn_line(isbn: str) -> str:
    """The ISBN as printed on the book, under its name."""
    return _("ISBN %(isbn)s") % {"isbn": hyphenated(isbn)}


def isbn_invalid(error: IsbnInvalid) -> str:
    return _(
        "“%(text)s” is not a valid ISBN: check its digits (ISBN-10 or ISBN-13, hyphens allowed)."
    ) % {"text": escape(error.text)}


def metadata_unavailable(error: BookMetadataUnavailable) -> str:
    """One line: the lookup gave nothing, so staff type the title and author."""
    isbn = hyphenated(error.isbn)
    return _(
        "No title and author found for ISBN %(isbn)s: add it with "
        "/addbook &lt;title&gt; | &lt;author&gt; | &lt;quantity&gt; | %(isbn)s"
    ) % {"isbn": isbn}


def repeated_isbn_in_file(error: RepeatedIsbnInFile) -> str:
    return _("The same ISBN is already on line %(line)s.") % {"line": error.first_line}


def isbn_not_found(error: IsbnNotFound) -> str:
    return _("No book with ISBN %(isbn)s in the catalog. Try /search.") % {
        "isbn": hyphenated(error.isbn)
    }
