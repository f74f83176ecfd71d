"""Who sent an update, as the services know them."""

from telegram import Message, Update
from telegram.constants import ChatType

from bot.users.schemas import Reader


def reader_of(update: Update) -> Reader:
    user = update.effective_user
    if user is None:
        raise ValueError("update without a sender")
    chat = update.effective_chat
    # Notifications go to the private chat, whose id is the user's id.
    chat_id = chat.id if chat is not None and chat.type == ChatType.PRIVATE else user.id
    return Reader(user.id, chat_id, user.username, user.first_name)


def sender_id(update: Update) -> int:
    if update.effective_user is None:
        raise ValueError("update without a sender")
    return update.effective_user.id


def message_of(update: Update) -> Message:
    if update.effective_message is None:
        raise ValueError("update without a message")
    return update.effective_message
