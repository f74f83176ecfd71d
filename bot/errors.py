"""The root of every domain error; the Telegram layer turns each into the reader's text."""


class DomainError(Exception):
    """A rule refused the request; nothing was changed.

    Subclasses are dataclasses: their fields are what the reader's text needs.
    """
