"""The messages the services queue for readers (bot/notifications/messages.py), worded and
formatted here: texts, and the hold messages' release button."""

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.books.schemas import BookView
from bot.digest.schemas import Digest
from bot.i18n import languages
from bot.notifications.messages import (
    HeldCopy,
    LapsedWait,
    OutgoingMessage,
    PlaceNews,
    SpecialOrderNews,
)
from bot.telegram import callback_data
from bot.telegram.callback_data import CancelButton, StopPlaceUpdatesButton
from bot.telegram.texts import (
    holds,
    needed_until,
    place_updates,
    reservations,
    special_orders,
    withdrawals,
)
from bot.telegram.texts.digest import digest as digest_text


class TelegramMessages:
    """ReaderMessages for the services. A hold message is in its reader's language (the
    staff member whose /restock queued it may speak another); back-in-stock (and a
    withdrawal's notice) is rendered in the active one, once per language, by the restock
    (the withdrawal)."""

    def back_in_stock(self, book: BookView) -> str:
        return reservations.back_in_stock(book)

    def withdrawn(self, book: BookView) -> str:
        return withdrawals.withdrawn_notice(book)

    def hold_offer(self, hold: HeldCopy) -> OutgoingMessage:
        with languages.speaking(hold.language or languages.DEFAULT):
            text = holds.hold_offer(hold.title, hold.author, hold.reservation_id, hold.until)
            return OutgoingMessage(text, release_markup(hold.reservation_id))

    def hold_reminder(self, hold: HeldCopy) -> OutgoingMessage:
        with languages.speaking(hold.language or languages.DEFAULT):
            text = holds.hold_reminder(hold.title, hold.author, hold.reservation_id, hold.until)
            return OutgoingMessage(text, release_markup(hold.reservation_id))

    def hold_expired(self, hold: HeldCopy) -> OutgoingMessage:
        with languages.speaking(hold.language or languages.DEFAULT):
            return OutgoingMessage(
                holds.hold_expired(hold.title, hold.author, hold.reservation_id, hold.until)
            )

    def lapsed(self, lapse: LapsedWait) -> OutgoingMessage:
        with languages.speaking(lapse.language or languages.DEFAULT):
            return OutgoingMessage(needed_until.lapsed(lapse))

    def place_update(self, news: PlaceNews) -> OutgoingMessage:
        language = news.language or languages.DEFAULT
        write = place_update_writer(news.title, news.author, language)
        return OutgoingMessage(
            write(news.reservation_id, news.place), stop_updates_markup(language)
        )

    def digest(self, digest: Digest, language: str | None) -> str:
        """DigestMessages: the staff member's digest, in their language."""
        with languages.speaking(language or languages.DEFAULT):
            return digest_text(digest)

    def ordered(self, news: SpecialOrderNews) -> str:
        return special_orders.ordered_notice(news)

    def declined(self, news: SpecialOrderNews) -> str:
        return special_orders.declined_notice(news)


def release_markup(reservation_id: int) -> dict[str, Any]:
    """The "Don't need it" button: the same cancel as in /myreservations."""
    data = callback_data.encode(CancelButton(reservation_id, 1))
    assert data is not None  # an id and a page always fit in 64 bytes
    button = InlineKeyboardButton(holds.release_button(reservation_id), callback_data=data)
    return InlineKeyboardMarkup([[button]]).to_dict()


@cache
def stop_updates_markup(language: str) -> dict[str, Any]:
    """The "Stop these updates" button, the same for all the language's readers (whoever
    presses it stops their own): built once, for the thousands of updates a move sends.
    Read only: the outbox stores it as JSON."""
    data = callback_data.encode(StopPlaceUpdatesButton())
    assert data is not None
    with languages.speaking(language):
        button = InlineKeyboardButton(place_updates.stop_button(), callback_data=data)
    return InlineKeyboardMarkup([[button]]).to_dict()


@lru_cache(maxsize=256)
def place_update_writer(title: str, author: str, language: str) -> Callable[[int, int], str]:
    """A book's place update in a language, for each of its readers of that language
    (the line's loop writes thousands at once)."""
    with languages.speaking(language):
        return place_updates.place_update_writer(title, author)
