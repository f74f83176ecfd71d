"""The hold messages the services queue, rendered here: texts and the release button."""

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.holds.policy import HeldCopy, OutgoingMessage
from bot.i18n import languages
from bot.telegram import callback_data
from bot.telegram.callback_data import CancelButton
from bot.telegram.texts import holds


class TelegramHoldMessages:
    """HoldMessages for the services (bot/holds/policy.py), each in its reader's language
    (the staff member whose /restock queued it may speak another)."""

    def offer(self, hold: HeldCopy) -> OutgoingMessage:
        with languages.speaking(hold.language or languages.DEFAULT):
            text = holds.hold_offer(hold.title, hold.author, hold.reservation_id, hold.until)
            return OutgoingMessage(text, release_markup(hold.reservation_id))

    def reminder(self, hold: HeldCopy) -> OutgoingMessage:
        with languages.speaking(hold.language or languages.DEFAULT):
            text = holds.hold_reminder(hold.title, hold.author, hold.reservation_id, hold.until)
            return OutgoingMessage(text, release_markup(hold.reservation_id))

    def expired(self, hold: HeldCopy) -> OutgoingMessage:
        with languages.speaking(hold.language or languages.DEFAULT):
            return OutgoingMessage(
                holds.hold_expired(hold.title, hold.author, hold.reservation_id, hold.until)
            )


def release_markup(reservation_id: int) -> dict[str, Any]:
    """The "Don't need it" button: the same cancel as in /myreservations."""
    data = callback_data.encode(CancelButton(reservation_id, 1))
    assert data is not None  # an id and a page always fit in 64 bytes
    button = InlineKeyboardButton(holds.release_button(reservation_id), callback_data=data)
    return InlineKeyboardMarkup([[button]]).to_dict()
