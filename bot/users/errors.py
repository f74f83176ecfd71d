from dataclasses import dataclass

from bot.errors import DomainError


class NotAnAdmin(DomainError):
    """Only the bookstore's staff may do this."""


@dataclass(eq=False)
class UnsupportedLanguage(DomainError):
    """The bot does not speak this language."""

    language: str
