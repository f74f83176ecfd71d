"""The baseline: a bot whose /restock handler awaits each send_message in turn.

No outbox, no pacing, no 429 handling beyond logging the failure and going on: what a
first version of this bot would do. Run as `python -m bench.naive_bot` with the same
settings as the real bot.
"""

import logging
import os

from sqlalchemy import text
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes, Defaults

from bot.config import load_settings
from bot.database import create_engine
from bot.logging_setup import configure_logging
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.telegram.texts import reservations, staff

logger = logging.getLogger("bench.naive_bot")


def main() -> None:
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    settings = load_settings()
    assert settings.bot_token is not None
    assert settings.database_url is not None
    configure_logging("WARNING", [settings.bot_token.get_secret_value()])
    engine = create_engine(settings.database_url)
    services = build_services(engine, TelegramMessages(), Shop(settings.admin_ids))

    async def restock(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None
        assert update.effective_message is not None
        book_id, quantity = (int(arg) for arg in context.args or [])
        result = await services_of(context).restocks.restock(
            update.effective_user.id, book_id, quantity
        )
        # The restock queued its readers in the outbox, which this bot never reads
        # otherwise: it sends to each of them itself, in line order.
        async with engine.connect() as connection:
            chat_ids = await connection.scalars(
                text("SELECT chat_id FROM notifications WHERE status = 'pending' ORDER BY id")
            )
        for chat_id in chat_ids:
            try:
                await context.bot.send_message(chat_id, reservations.back_in_stock(result.book))
            except TelegramError as error:
                logger.warning("Could not message %s: %s", chat_id, error)
        await update.effective_message.reply_text(staff.restock_report(result))

    application = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.telegram_base_url or "https://api.telegram.org/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .build()
    )
    application.bot_data["services"] = services
    application.add_handler(CommandHandler("restock", restock))
    application.run_polling(allowed_updates=[Update.MESSAGE])


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data["services"]
    return services


if __name__ == "__main__":
    main()
