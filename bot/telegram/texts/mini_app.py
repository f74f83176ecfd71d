"""The Mini App's own words (the page around the catalog): the rest it shows is the
chat's, as plain text (a book's availability, the reader's place, a refusal)."""

from bot.i18n.catalogs import _


def page_words() -> dict[str, str]:
    """The words the page shows, by the name the page knows them by."""
    return {
        "title": _("Bookstore catalog"),
        "search": _("Search by title, author or ISBN"),
        "catalog": _("Catalog"),
        "mine": _("My reservations"),
        "back": _("Back"),
        "more": _("More books"),
        "loading": _("Loading…"),
        "nothing": _("No books match your search."),
        "empty": _("The catalog is empty for now."),
        "no_reservations": _("You have no reservations yet."),
        "failed": _("Could not reach the bookstore. Please try again in a moment."),
        "unauthorized": _("Please open the catalog again from the bot's menu."),
    }


def release_button() -> str:
    """The one button on a book whose copy is on hold for the reader."""
    return _("Don't need it")


def menu_button() -> str:
    """The menu button beside the message field, opening the Mini App."""
    return _("Catalog")


def open_catalog_button() -> str:
    """Under a book card: the Mini App's grid of covers."""
    return _("Open catalog")
