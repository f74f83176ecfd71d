"""/digest: the staff's digest now, as the weekly one (DIGEST_AT) would say it."""

from telegram import Update

from bot.telegram.context import BotContext
from bot.telegram.handlers.senders import message_of, sender_id
from bot.telegram.texts import digest as digest_texts


async def digest(update: Update, context: BotContext) -> None:
    """Reply with the digest: what to order, special orders, holds ending, failures."""
    context.services.users.require_admin(sender_id(update))
    report = await context.services.digest.digest(sender_id(update))
    await message_of(update).reply_text(digest_texts.digest(report))
