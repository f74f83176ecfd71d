"""Presses of inline buttons; the callback data is parsed, never trusted."""

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.telegram import callback_data, keyboards, texts
from bot.telegram.callback_data import (
    BooksPageButton,
    CancelButton,
    ReservationsPageButton,
    ReserveButton,
)
from bot.telegram.context import BotContext
from bot.telegram.handlers.senders import reader_of, require_private_chat

logger = logging.getLogger(__name__)


async def button(update: Update, context: BotContext) -> None:
    """Do what the pressed button says, then stop its spinner."""
    require_private_chat(update)
    query = update.callback_query
    if query is None:
        return
    match callback_data.decode(query.data):
        case ReserveButton(book_id):
            confirmation = await context.services.reservations.reserve(reader_of(update), book_id)
            await _answer(query, texts.reserved_short(confirmation))
            await context.bot.send_message(reader_of(update).chat_id, texts.reserved(confirmation))
        case CancelButton(reservation_id, page):
            cancellation = await context.services.reservations.cancel(
                reader_of(update), reservation_id, page
            )
            await _answer(query, texts.cancelled_short())
            await _show(
                query,
                texts.reservation_page(cancellation.page),
                keyboards.reservations_keyboard(cancellation.page),
            )
        case BooksPageButton(page, search):
            book_page = await context.services.books.list_books(page, search)
            await _answer(query)
            await _show(query, texts.book_page(book_page), keyboards.books_keyboard(book_page))
        case ReservationsPageButton(page):
            reservation_page = await context.services.reservations.list_reservations(
                reader_of(update), page
            )
            await _answer(query)
            await _show(
                query,
                texts.reservation_page(reservation_page),
                keyboards.reservations_keyboard(reservation_page),
            )


async def _answer(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner; the work is done, so a query too old to answer is no failure."""
    try:
        await query.answer(text)
    except BadRequest as error:
        logger.info("Callback query not answered: %s", error.message)


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the message the button was on (or, if it can't be edited, send a new one)."""
    if query.message is not None and query.message.is_accessible:
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as error:
            # A double tap asks for the same page twice; Telegram refuses the no-op edit.
            if "not modified" in error.message.lower():
                return
    # Too old to edit, deleted, or inaccessible: the reader still gets the answer.
    await query.get_bot().send_message(query.from_user.id, text, reply_markup=markup)
