"""The language each update is answered in, and the reader's /language choice.

Every update is answered in the language the reader chose with /language, else the one
their Telegram app is set to. The choice lives in the users table (so a block, an
unblock or a restart keeps it) and, once read, for a minute in the process's user_data.
"""

import logging
import time

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import TypeHandler

from bot.i18n import languages
from bot.telegram import keyboards
from bot.telegram.command_menu import chat_menus
from bot.telegram.context import BotApplication, BotContext
from bot.telegram.handlers.senders import message_of, require_private_chat
from bot.telegram.texts import language as language_texts

logger = logging.getLogger(__name__)

# Before the commands (group 0), so every answer, a refusal included, is in the language.
GROUP = -1
CHOSEN = "chosen_language"
# How long a process trusts the choice it read: the reader may have chosen again through
# another process (several bot processes share the database).
CHOICE_KEPT_SECONDS = 60.0


def add_handlers(application: BotApplication) -> None:
    application.add_handler(TypeHandler(Update, speak_their_language), GROUP)


async def speak_their_language(update: Update, context: BotContext) -> None:
    """Make the sender's language the active one for the rest of this update."""
    user = update.effective_user
    if user is None:
        languages.use(languages.DEFAULT)
        return
    chosen = await chosen_language(user.id, context)
    languages.use(chosen or languages.from_telegram(user.language_code))


async def chosen_language(telegram_id: int, context: BotContext) -> str | None:
    cached: tuple[str | None, float] | None = (
        None if context.user_data is None else context.user_data.get(CHOSEN)
    )
    if cached is not None and time.monotonic() - cached[1] < CHOICE_KEPT_SECONDS:
        return cached[0]
    try:
        chosen = await context.services.users.chosen_language(telegram_id)
    except Exception:
        # The answer still goes out, in their app's language; the next update asks again.
        logger.warning("Could not read user %s's language", telegram_id, exc_info=True)
        return None
    if context.user_data is not None:
        context.user_data[CHOSEN] = (chosen, time.monotonic())
    return chosen


async def language_command(update: Update, context: BotContext) -> None:
    """Offer the languages as buttons."""
    require_private_chat(update)
    await message_of(update).reply_text(
        language_texts.language_prompt(), reply_markup=keyboards.languages_keyboard()
    )


def remember(context: BotContext, language: str) -> None:
    """The reader's choice, stored by the service: speak it from this answer on."""
    if context.user_data is not None:
        context.user_data[CHOSEN] = (language, time.monotonic())
    languages.use(language)


async def publish_chat_menu(context: BotContext, chat_id: int, language: str) -> None:
    """The command menu of this chat in the reader's chosen language (Telegram otherwise
    shows the one for their app's language). Only a convenience: failures are logged."""
    is_admin = context.services.users.is_admin(chat_id)
    for menu in chat_menus(chat_id, language, is_admin):
        try:
            await context.bot.set_my_commands(
                menu.commands, scope=menu.scope, language_code=menu.language_code
            )
        except TelegramError as error:
            logger.warning("Command menu of chat %s not set: %s", chat_id, error.message)
            return
