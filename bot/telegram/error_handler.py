"""The one place where a failed update becomes the reader's answer."""

import logging

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import CallbackQuery, Update
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.errors import DomainError
from bot.telegram.bad_input import BadInput
from bot.telegram.callback_answers import answer_while_young
from bot.telegram.context import BotContext
from bot.telegram.lengths import CALLBACK_ANSWER_LIMIT, truncated
from bot.telegram.texts import formatting, refusals
from bot.telegram.update_processor import answer_in_background, claim_answer, pressed_at

logger = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure, then tell the sender what happened in words they can use."""
    error = context.error
    if update is None and isinstance(error, NetworkError):
        # Polling lost Telegram for a moment; PTB keeps retrying on its own.
        logger.warning("Telegram unreachable, retrying: %s", error)
        return
    if isinstance(error, DomainError | BadInput):
        logger.info("Refused %s: %r", type(error).__name__, error)
        text = refusals.refusal(error)
    elif _is_database_outage(error):
        logger.error("Database unavailable", exc_info=error)
        text = refusals.temporarily_unavailable()
    else:
        logger.error("Update failed", exc_info=error)
        text = refusals.something_went_wrong()
    if isinstance(update, Update):
        await _tell(update, text, context)


async def _tell(update: Update, text: str, context: BotContext) -> None:
    try:
        if update.callback_query is not None:
            await _alert(update.callback_query, text, context)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except TelegramError as error:
        logger.warning("Could not tell the user about a failure: %s", error)


async def _alert(query: CallbackQuery, text: str, context: BotContext) -> None:
    """An alert, which also stops the button's spinner; in the chat if that was stopped
    already (the spinner's deadline, a burst). A Telegram slow to take it holds neither
    the reader's turn nor a running slot: it goes on in the background, like a spinner's."""
    processor = context.application.update_processor
    if not claim_answer(processor, query.id):
        await query.get_bot().send_message(query.from_user.id, text)
        return
    pressed = pressed_at(processor, query.id)
    await answer_in_background(processor, query.id, _alert_or_say(query, pressed, text))


async def _alert_or_say(query: CallbackQuery, pressed: float, text: str) -> None:
    """The alert; in the chat if Telegram refuses it for good (the press too old)."""
    alert = truncated(formatting.as_plain(text), CALLBACK_ANSWER_LIMIT)
    try:
        try:
            await answer_while_young(query, pressed, alert, show_alert=True)
        except BadRequest:
            await query.get_bot().send_message(query.from_user.id, text)
    except TelegramError as error:
        logger.warning("Could not tell the user about a failure: %s", error)


def _is_database_outage(error: BaseException | None) -> bool:
    """Whether the failure, or anything that led to it, is the database being away."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OUTAGE_ERRORS):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__ or error.__context__
    return False


# Connection refused or reset, the server shutting down or starting up, a pool or
# connect timeout: all mean "try again shortly", not "bug".
OUTAGE_ERRORS = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    OSError,  # refused, reset, timed out (TimeoutError is one)
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
)
