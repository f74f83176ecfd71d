"""Who sent an update, as the services know them."""

from telegram import Message, Update
from telegram.constants import ChatType

from bot.i18n import languages
from bot.telegram.bad_input import NotPrivateChat
from bot.users.schemas import Reader


def reader_of(update: Update) -> Reader:
    """The reader behind a private chat; in groups, senders can be anonymous or shared."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE or user.is_bot:
        raise NotPrivateChat()
    return Reader(
        user.id,
        chat.id,
        user.username,
        user.first_name,
        languages.from_telegram(user.language_code),
    )


def require_private_chat(update: Update) -> None:
    """Raise NotPrivateChat outside a private chat with a person."""
    reader_of(update)


def sender_id(update: Update) -> int:
    return reader_of(update).telegram_id


def message_of(update: Update) -> Message:
    if update.effective_message is None:
        raise ValueError("update without a message")
    return update.effective_message
