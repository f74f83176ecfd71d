"""The words in the active language: gettext catalogs compiled from locales/*.po while
the package is installed (setup.py), plurals and dates by Babel's rules for the language.

Texts mark their English source with `_` (or `N_` where the translation has to wait
until use) and `ngettext`; `python3 dev.py translations` extracts and updates the
catalogs (docs/developers.md, "Languages").
"""

from datetime import UTC, date, datetime
from functools import cache
from gettext import NullTranslations
from pathlib import Path

from babel.dates import format_date, format_datetime, format_time, get_datetime_format
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from bot.i18n.languages import DEFAULT, SUPPORTED, active

DOMAIN = "bot"
LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog; English is the source, so it may have none."""
    found = Translations.load(str(LOCALES), [language], DOMAIN)
    if language != DEFAULT and not isinstance(found, Translations):
        raise LookupError(f"no compiled catalog for {language!r} in {LOCALES}; reinstall the bot")
    return found


def check_catalogs() -> None:
    """Fail at start-up, not at a reader's first message, when a catalog is missing."""
    for language in SUPPORTED:
        translations(language)


def _(message: str) -> str:
    return translations(active()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(active()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark a text for extraction; it is translated where it is used, with `_`."""
    return message


def moment(when: datetime) -> str:
    """A date and time as the active language writes them, in the time's own zone (the
    shop's, from the services; UTC when it has none), with the zone's abbreviation."""
    language = active()
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    date = format_date(when, "medium", locale=language)
    time = format_time(when, "short", tzinfo=when.tzinfo, locale=language)
    pattern = str(get_datetime_format("medium", locale=language))
    return f"{pattern.replace('{1}', date).replace('{0}', time)} {when.strftime('%Z')}"


def deadline(when: datetime) -> str:
    """A hold's deadline, short, in the time's own zone: Fri 27 Nov, 18:00 in English,
    the names of the day and the month in the active language."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return format_datetime(when, "EEE dd MMM, HH:mm", tzinfo=when.tzinfo, locale=active())


def day(when: date) -> str:
    """A date as the active language writes it: Dec 27, 2026 in English."""
    return format_date(when, "medium", locale=active())


def number(value: int) -> str:
    """A number with the active language's digit grouping."""
    return format_decimal(value, locale=active())


def decimal(value: float) -> str:
    """A number with at most one decimal, as the active language writes it: 4.7, 4,7."""
    return format_decimal(value, "#,##0.#", locale=active())


def percent(value: float) -> str:
    """A share (0.6) as the active language writes a percentage: 60%, 60 %."""
    return format_percent(value, locale=active())
