"""The messages the services queue for readers (bot/notifications/messages.py), worded and
formatted here: texts, and the hold messages' release button."""

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.books.schemas import BookView
from bot.i18n import languages
from bot.notifications.messages import HeldCopy, LapsedWait, OutgoingMessage
from bot.telegram import callback_data
from bot.telegram.callback_data import CancelButton
from bot.telegram.texts import holds, needed_until, reservations, withdrawals


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


def release_markup(reservation_id: int) -> dict[str, Any]:
    """The "Don't need it" button: the same cancel as in /myreservations."""
    data = callback_data.encode(CancelButton(reservation_id, 1))
    assert data is not None  # an id and a page always fit in 64 bytes
    button = InlineKeyboardButton(holds.release_button(reservation_id), callback_data=data)
    return InlineKeyboardMarkup([[button]]).to_dict()
