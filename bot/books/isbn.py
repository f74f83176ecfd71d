"""ISBNs as staff type them (ISBN-10 or ISBN-13, with hyphens or spaces) made the one form
the catalog stores: ISBN-13, digits only. The checksums are python-stdnum's."""

import unicodedata

from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import ValidationError

from bot.books.errors import IsbnInvalid

# What an ISBN may be typed with: digits, the ISBN-10 check digit X, hyphens and spaces.
_ISBN_CHARACTERS = frozenset("0123456789Xx- ")
# The dashes web pages and word processors print between an ISBN's parts (hyphen,
# non-breaking hyphen, figure dash, en and em dashes, minus signs), read as "-".
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d", "-"))
# 979-0 is the ISMN's (printed music), never a book's.
_ISMN_PREFIX = "9790"


def _plain(text: str) -> str:
    """text with full-width digits and spaces made ASCII (NFKC) and any dash a hyphen."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES)


def looks_like_isbn(text: str) -> bool:
    """Whether text is meant as an ISBN (10 or 13 digits, hyphens or spaces between),
    right or wrong, rather than a title or an id."""
    stripped = _plain(text).strip()
    digits = stripped.replace("-", "").replace(" ", "")
    return (
        bool(stripped)
        and set(stripped) <= _ISBN_CHARACTERS
        and len(digits) in (10, 13)
        and digits[:-1].isdigit()
    )


def normalised(text: str) -> str:
    """The ISBN-13 of an ISBN-10 or ISBN-13, digits only; IsbnInvalid when it is not one
    (a wrong length, a letter, a bad check digit, an ISMN's 979-0). Full-width digits
    and Unicode dashes are read as their ASCII forms."""
    try:
        isbn13 = str(stdnum_isbn.to_isbn13(stdnum_isbn.validate(_plain(text).strip())))
    except ValidationError:
        raise IsbnInvalid(text.strip()[:40]) from None
    if isbn13.startswith(_ISMN_PREFIX):
        raise IsbnInvalid(text.strip()[:40])
    return isbn13


def hyphenated(isbn13: str) -> str:
    """The ISBN as printed on a book (978-0-306-40615-7), for people to read."""
    return str(stdnum_isbn.format(isbn13))


def isbn_in(text: str) -> str | None:
    """The ISBN-13 when text is a valid ISBN, else None (for searches, where any text is
    a fair question)."""
    if not looks_like_isbn(text):
        return None
    try:
        return normalised(text)
    except IsbnInvalid:
        return None
