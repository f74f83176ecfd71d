"""/until: the day a reader needs a reserved book until (the buttons after reserving are
in handlers/buttons.py)."""

from telegram import Update

from bot.telegram import arguments
from bot.telegram.context import BotContext
from bot.telegram.handlers.senders import message_of, reader_of
from bot.telegram.texts import needed_until


async def until(update: Update, context: BotContext) -> None:
    """Set or clear (never) the day one of the reader's reservations is needed until."""
    reservation_id, day = arguments.id_and_day("until", context.args or [])
    reservation = await context.services.needed_until.set_needed_until(
        reader_of(update), reservation_id, day
    )
    await message_of(update).reply_text(needed_until.needed_until_set(reservation))
