"""The one place where a failed update becomes the reader's answer."""

import logging

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from telegram import Update
from telegram.error import NetworkError, TelegramError

from bot.errors import DomainError
from bot.telegram import texts
from bot.telegram.bad_input import BadInput
from bot.telegram.context import BotContext

logger = logging.getLogger(__name__)

# Telegram's limit for answerCallbackQuery's text.
ALERT_LIMIT = 200


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure, then tell the sender what happened in words they can use."""
    error = context.error
    if update is None and isinstance(error, NetworkError):
        # Polling lost Telegram for a moment; PTB keeps retrying on its own.
        logger.warning("Telegram unreachable, retrying: %s", error)
        return
    if isinstance(error, DomainError | BadInput):
        logger.info("Refused %s: %r", type(error).__name__, error)
        text = texts.refusal(error)
    elif _is_database_outage(error):
        logger.error("Database unavailable", exc_info=error)
        text = texts.temporarily_unavailable()
    else:
        logger.error("Update failed", exc_info=error)
        text = texts.something_went_wrong()
    if isinstance(update, Update):
        await _tell(update, text)


async def _tell(update: Update, text: str) -> None:
    try:
        if update.callback_query is not None:
            # An alert also stops the button's spinner.
            alert = texts.as_plain(text)
            if len(alert) > ALERT_LIMIT:
                alert = alert[: ALERT_LIMIT - 1] + "…"
            await update.callback_query.answer(alert, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except TelegramError as error:
        logger.warning("Could not tell the user about a failure: %s", error)


def _is_database_outage(error: BaseException | None) -> bool:
    if isinstance(error, OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, ConnectionError | TimeoutError)
