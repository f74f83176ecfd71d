"""Builds the Telegram Application: handlers wired to the services."""

import logging

from telegram import BotCommand, Update
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

from bot.delivery.aiohttp_request import AiohttpRequest
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.flood_budget.ledger import SharedFloodBudget
from bot.delivery.measured_rate_limiter import MeasuredRateLimiter
from bot.delivery.pacing import DEFAULT_MESSAGES_PER_SECOND, PacedRateLimiter, Pacer
from bot.delivery.tuning import DispatcherTuning
from bot.holds.expiry import HoldExpiry
from bot.i18n import catalogs
from bot.services import Services
from bot.telegram.command_menu import CommandMenu, commands_for, menus_by_role
from bot.telegram.context import DISPATCHER, SERVICES, WEB_APP_URL, BotApplication, BotContext
from bot.telegram.error_handler import on_error
from bot.telegram.handlers import (
    admin,
    buttons,
    cards,
    demand,
    digest,
    inline,
    language,
    membership,
    needed_until,
    place_updates,
    readers,
    special_orders,
)
from bot.telegram.log_names import name_handlers_in_logs
from bot.telegram.measured_update_processor import MeasuredUpdateProcessor
from bot.telegram.menu_button import MiniAppMenuButton
from bot.telegram.texts.commands import READER_COMMANDS

logger = logging.getLogger(__name__)

COMMAND_MENU = "command_menu"
MENU_BUTTON = "menu_button"
HOLD_EXPIRY = "hold_expiry"

# Commands act on new messages only: editing an old "/reserve 3" must not reserve again.
NEW_MESSAGES = filters.UpdateType.MESSAGE

# The updates the handlers handle, asked for by polling and by setWebhook alike;
# anything else is never sent.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
    Update.INLINE_QUERY,
]


def build_application(
    token: str,
    services: Services,
    *,
    messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND,
    tuning: DispatcherTuning | None = None,
    base_url: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    hold_poll_interval: float = 1.0,
    polling: bool = True,
    budget: SharedFloodBudget | None = None,
    web_app_url: str | None = None,
) -> BotApplication:
    """The Application; with web_app_url (the Mini App's public address), the menu button
    opening it, set at start, and book cards' Open catalog button."""
    # A catalog missing from the install fails here, not at a reader's first message.
    catalogs.check_catalogs()
    pacer = Pacer(messages_per_second, budget)
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(MeasuredRateLimiter(PacedRateLimiter(pacer)))
        .concurrent_updates(MeasuredUpdateProcessor())
        .post_init(on_connected)
        .post_stop(on_stopping)
    )
    if base_url:
        builder = builder.base_url(base_url)
    builder = builder.request(request if request is not None else AiohttpRequest())
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    if not polling:
        # Webhook mode (bot/web/): updates arrive through application.update_queue.
        builder = builder.updater(None)
    application: BotApplication = builder.build()
    application.bot_data[SERVICES] = services
    notifications = Dispatcher(application.bot, services.outbox, pacer, tuning)
    application.bot_data[DISPATCHER] = notifications
    application.bot_data[HOLD_EXPIRY] = HoldExpiry(
        services.line_upkeep, notifications.wake, hold_poll_interval
    )
    application.bot_data[COMMAND_MENU] = CommandMenu(
        application.bot, menus_by_role(services.users.staff_ids())
    )
    application.bot_data[WEB_APP_URL] = web_app_url
    if web_app_url is not None:
        application.bot_data[MENU_BUTTON] = MiniAppMenuButton(application.bot, web_app_url)
    add_handlers(application)
    name_handlers_in_logs(application)
    return application


def add_handlers(application: BotApplication) -> None:
    cards.add_handlers(application)
    inline.add_handlers(application)
    commands = {
        "start": readers.start,
        "help": readers.help_command,
        "books": readers.books,
        "search": readers.search,
        "reserve": readers.reserve,
        "myreservations": readers.my_reservations,
        "cancel": readers.cancel,
        "pause": readers.pause_reservation,
        "resume": readers.resume_reservation,
        "until": needed_until.until,
        "restock": admin.restock,
        "addbook": admin.add_book,
        "deliveries": admin.deliveries,
        "collected": admin.collected,
        "holds": admin.holds,
        "withdraw": admin.withdraw,
        "demand": demand.demand,
        "language": language.language_command,
        "updates": place_updates.updates_command,
        "digest": digest.digest,
        "request": special_orders.request,
        "unrequest": special_orders.unrequest,
        "requests": special_orders.requests,
        "order": special_orders.order,
        "decline": special_orders.decline,
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
    services: Services = application.bot_data[SERVICES]
    menus = menus_by_role(services.users.staff_ids(), await staff_languages(services))
    await command_menu(application).publish(menus)
    if MENU_BUTTON in application.bot_data:
        await menu_button(application).publish()
    dispatcher(application).start()
    hold_expiry(application).start()
    logger.info("Connected to Telegram as @%s", application.bot.username)


async def on_stopping(application: BotApplication) -> None:
    """Runs after polling stops, while the bot can still send (post_shutdown can't)."""
    await command_menu(application).stop()
    if MENU_BUTTON in application.bot_data:
        await menu_button(application).stop()
    await hold_expiry(application).stop()
    await dispatcher(application).stop()


def dispatcher(application: BotApplication) -> Dispatcher:
    found: Dispatcher = application.bot_data[DISPATCHER]
    return found


def hold_expiry(application: BotApplication) -> HoldExpiry:
    found: HoldExpiry = application.bot_data[HOLD_EXPIRY]
    return found


def command_menu(application: BotApplication) -> CommandMenu:
    found: CommandMenu = application.bot_data[COMMAND_MENU]
    return found


def menu_button(application: BotApplication) -> MiniAppMenuButton:
    found: MiniAppMenuButton = application.bot_data[MENU_BUTTON]
    return found


def reader_commands() -> tuple[BotCommand, ...]:
    """Readers' commands in the active language (the menu everyone sees)."""
    return commands_for(READER_COMMANDS)


async def staff_languages(services: Services) -> dict[int, str]:
    """The languages staff members chose with /language, for their menus; a failure to
    read them costs the choice (their app's language is used), never the start."""
    chosen = {}
    for staff_id in services.users.staff_ids():
        try:
            language = await services.users.chosen_language(staff_id)
        except Exception:
            logger.warning("Could not read staff %s's language", staff_id, exc_info=True)
            continue
        if language is not None:
            chosen[staff_id] = language
    return chosen
