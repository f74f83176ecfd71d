"""Builds the Telegram Application: handlers wired to the services."""

import logging

from telegram import BotCommand
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.i18n import catalogs, languages
from bot.services import Services
from bot.telegram import texts
from bot.telegram.command_menu import CommandMenu, commands_for
from bot.telegram.context import DISPATCHER, SERVICES, BotApplication, BotContext
from bot.telegram.dispatcher import Dispatcher, DispatcherTuning
from bot.telegram.error_handler import on_error
from bot.telegram.handlers import admin, buttons, language, membership, readers
from bot.telegram.pacing import DEFAULT_MESSAGES_PER_SECOND, PacedRateLimiter, Pacer
from bot.telegram.update_processor import PerReaderUpdateProcessor

logger = logging.getLogger(__name__)

COMMAND_MENU = "command_menu"

# Commands act on new messages only: editing an old "/reserve 3" must not reserve again.
NEW_MESSAGES = filters.UpdateType.MESSAGE


def build_application(
    token: str,
    services: Services,
    *,
    messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND,
    tuning: DispatcherTuning | None = None,
    base_url: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> BotApplication:
    # A catalog missing from the install fails here, not at a reader's first message.
    catalogs.check_catalogs()
    pacer = Pacer(messages_per_second)
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(PacedRateLimiter(pacer))
        .concurrent_updates(PerReaderUpdateProcessor())
        .post_init(on_connected)
        .post_stop(on_stopping)
    )
    if base_url:
        builder = builder.base_url(base_url)
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application: BotApplication = builder.build()
    application.bot_data[SERVICES] = services
    application.bot_data[DISPATCHER] = Dispatcher(application.bot, services.outbox, pacer, tuning)
    application.bot_data[COMMAND_MENU] = CommandMenu(
        application.bot, reader_commands(), reader_commands_by_language()
    )
    add_handlers(application)
    return application


def add_handlers(application: BotApplication) -> None:
    commands = {
        "start": readers.start,
        "help": readers.help_command,
        "books": readers.books,
        "search": readers.search,
        "reserve": readers.reserve,
        "myreservations": readers.my_reservations,
        "cancel": readers.cancel,
        "restock": admin.restock,
        "addbook": admin.add_book,
        "deliveries": admin.deliveries,
        "language": language.language_command,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=NEW_MESSAGES))
    application.add_handler(CallbackQueryHandler(buttons.button))
    # In groups, other bots' commands are none of ours: stay quiet.
    private = NEW_MESSAGES & filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private & filters.COMMAND, readers.unknown_command))
    application.add_handler(MessageHandler(private, readers.not_a_command))
    membership.add_handlers(application)
    language.add_handlers(application)
    application.add_error_handler(on_error)


async def on_connected(application: BotApplication) -> None:
    """Runs once Telegram has answered (under run_polling only). An exception here stops
    the bot, so nothing optional may raise."""
    await command_menu(application).publish()
    dispatcher(application).start()
    logger.info("Connected to Telegram as @%s", application.bot.username)


async def on_stopping(application: BotApplication) -> None:
    """Runs after polling stops, while the bot can still send (post_shutdown can't)."""
    await command_menu(application).stop()
    await dispatcher(application).stop()


def dispatcher(application: BotApplication) -> Dispatcher:
    found: Dispatcher = application.bot_data[DISPATCHER]
    return found


def command_menu(application: BotApplication) -> CommandMenu:
    found: CommandMenu = application.bot_data[COMMAND_MENU]
    return found


def reader_commands() -> list[BotCommand]:
    """Telegram's command menu: readers' commands (staff see theirs in /help)."""
    return commands_for(texts.READER_COMMANDS)


def reader_commands_by_language() -> dict[str, list[BotCommand]]:
    """The readers' menu for each app language but the default (that one is everyone's)."""
    menus = languages.in_each_language(reader_commands)
    return {code: menu for code, menu in menus.items() if code != languages.DEFAULT}
