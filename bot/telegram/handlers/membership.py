"""Whether our messages reach a reader: they block or unblock the bot (my_chat_member),
or anything they send in their private chat shows they can hear us again."""

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ChatMemberHandler, TypeHandler

from bot.telegram.context import BotApplication, BotContext
from bot.telegram.handlers import language

logger = logging.getLogger(__name__)

# After the commands (group 0), so the reader's answer, and a button's spinner, never
# wait for this. In one group only the first matching handler runs: a my_chat_member
# update is handled by membership_changed alone (a block is no sign of being back).
GROUP = 1


def add_handlers(application: BotApplication) -> None:
    application.add_handler(ChatMemberHandler(membership_changed), GROUP)
    application.add_handler(TypeHandler(Update, any_update), GROUP)


async def membership_changed(update: Update, context: BotContext) -> None:
    """In a private chat, "kicked" is the reader blocking the bot, "member" unblocking it;
    groups and other statuses are none of this."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    reader = change.from_user
    if reader.is_bot or reader.id != change.chat.id:
        return
    match change.new_chat_member.status:
        case ChatMemberStatus.BANNED:
            await context.services.users.blocked_us(reader.id)
        case ChatMemberStatus.MEMBER:
            if await context.services.notifications.reachable_again(reader.id):
                context.dispatcher.wake()
            # Their language stayed in the database; their chat's menu follows it again.
            chosen = await language.chosen_language(reader.id, context)
            if chosen is not None:
                await language.publish_chat_menu(context, change.chat.id, chosen)


async def any_update(update: Update, context: BotContext) -> None:
    """A reader who writes can be written to: send them what they missed meanwhile."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE or user.is_bot:
        return
    try:
        requeued = await context.services.notifications.reachable_again(user.id)
    except Exception:
        # Bookkeeping only: the reader has had their answer; the next update tries again.
        logger.warning(
            "Could not check whether user %s is reachable again", user.id, exc_info=True
        )
        return
    if requeued:
        context.dispatcher.wake()
