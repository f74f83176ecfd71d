"""The languages the bot speaks and the one it is speaking now.

The active language is a context variable: each update is handled in its own task, so
setting it for one reader's update never reaches another's. Texts for someone else (a
back-in-stock message queued by a staff member's /restock) are rendered inside
`speaking(their_language)` or `in_each_language`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

DEFAULT = "en"
# Each language's own name, as its speakers write it (the /language buttons).
NAMES = {"en": "English", "ru": "Русский", "es": "Español"}
SUPPORTED = tuple(NAMES)

_active: ContextVar[str] = ContextVar("language", default=DEFAULT)


def from_telegram(language_code: str | None) -> str:
    """The supported language for Telegram's IETF tag ("ru", "es-419", "pt-br"): its
    primary subtag if we speak it, else the default."""
    primary = (language_code or "").split("-")[0].split("_")[0].lower()
    return primary if primary in NAMES else DEFAULT


def is_supported(language: str) -> bool:
    return language in NAMES


def active() -> str:
    return _active.get()


def use(language: str) -> None:
    """Speak this language for the rest of the current task (one update's handling)."""
    _active.set(language if is_supported(language) else DEFAULT)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Speak this language inside the block only."""
    token = _active.set(language if is_supported(language) else DEFAULT)
    try:
        yield
    finally:
        _active.reset(token)


def in_each_language(render: Callable[[], T]) -> dict[str, T]:
    """What render returns in every supported language, by language."""
    rendered = {}
    for language in SUPPORTED:
        with speaking(language):
            rendered[language] = render()
    return rendered
