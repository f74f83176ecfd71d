"""/updates on and /updates off: a reader's place updates (the Stop button on one of them
is bot/telegram/handlers/buttons.py's)."""

from telegram import Update

from bot.telegram.bad_input import UsageError
from bot.telegram.context import BotContext
from bot.telegram.handlers.senders import message_of, reader_of, require_private_chat
from bot.telegram.texts import place_updates

CHOICES = {"on": True, "off": False}


async def updates_command(update: Update, context: BotContext) -> None:
    """Turn the reader's place updates on or off."""
    require_private_chat(update)
    args = [arg.lower() for arg in context.args or []]
    if len(args) != 1 or args[0] not in CHOICES:
        raise UsageError("updates")
    on = CHOICES[args[0]]
    shop_sends = await context.services.updates_choice.choose(reader_of(update), on)
    await message_of(update).reply_text(place_updates.updates_chosen(on, shop_sends))
