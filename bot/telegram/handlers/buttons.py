"""Presses of inline buttons; the callback data is parsed, never trusted."""

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseUpdateProcessor

from bot.reservations.schemas import ReservationPage
from bot.telegram import callback_data, keyboards
from bot.telegram.callback_data import (
    BooksPageButton,
    CancelButton,
    LanguageButton,
    OrderRequestButton,
    PauseButton,
    RequestsPageButton,
    ReservationsPageButton,
    ReserveButton,
    ResumeButton,
    StopPlaceUpdatesButton,
    UntilButton,
    WithdrawRequestButton,
)
from bot.telegram.context import BotContext
from bot.telegram.handlers import language
from bot.telegram.handlers.senders import reader_of, require_private_chat
from bot.telegram.texts import (
    catalog,
    needed_until,
    pause,
    place_updates,
    reservations,
    special_orders,
)
from bot.telegram.texts import language as language_texts
from bot.telegram.update_processor import stop_spinner

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A spinner still turning after this long is stopped without text, and the reader gets
# the outcome as a message. Reserves of one book take turns on its row lock, so in a
# burst of presses the last outcome can take seconds; the spinner must not.
SPINNER_DEADLINE_SECONDS = 0.2


async def button(update: Update, context: BotContext) -> None:
    """Do what the pressed button says; stop its spinner before anything paced."""
    require_private_chat(update)
    query = update.callback_query
    if query is None:
        return
    spinner = Spinner(query, context.application.update_processor)
    match callback_data.decode(query.data):
        case ReserveButton(book_id):
            confirmation = await spinner.stopped_by_deadline(
                context.services.reservations.reserve(reader_of(update), book_id)
            )
            await spinner.stop(reservations.reserved_short(confirmation))
            await context.bot.send_message(
                reader_of(update).chat_id,
                reservations.reserved(confirmation),
                reply_markup=keyboards.until_keyboard(confirmation.reservation_id),
            )
        case CancelButton(reservation_id, page):
            cancellation = await spinner.stopped_by_deadline(
                context.services.reservations.cancel(reader_of(update), reservation_id, page)
            )
            await spinner.stop(reservations.cancelled_short())
            await _show(
                query,
                reservations.reservation_page(cancellation.page),
                keyboards.reservations_keyboard(cancellation.page),
            )
        case PauseButton(reservation_id, page):
            change = await spinner.stopped_by_deadline(
                context.services.pauses.pause(reader_of(update), reservation_id, None, page)
            )
            await spinner.stop(pause.paused_short())
            await _show_page(query, change.page)
        case ResumeButton(reservation_id, page):
            change = await spinner.stopped_by_deadline(
                context.services.pauses.resume(reader_of(update), reservation_id, page)
            )
            await spinner.stop(pause.resumed_short())
            # A copy set aside or the news that it is back comes in its own message.
            await _show_page(query, change.page)
        case UntilButton(reservation_id, span):
            reservation = await spinner.stopped_by_deadline(
                context.services.needed_until.need_for(reader_of(update), reservation_id, span)
            )
            await spinner.stop(needed_until.needed_until_short(reservation))
            await context.bot.send_message(
                reader_of(update).chat_id, needed_until.needed_until_set(reservation)
            )
        case BooksPageButton(page, search):
            book_page = await spinner.stopped_by_deadline(
                context.services.holds.list_books(page, search)
            )
            await spinner.stop()
            await _show(query, catalog.book_page(book_page), keyboards.books_keyboard(book_page))
        case ReservationsPageButton(page):
            reservation_page = await spinner.stopped_by_deadline(
                context.services.reservations.list_reservations(reader_of(update), page)
            )
            await spinner.stop()
            await _show(
                query,
                reservations.reservation_page(reservation_page),
                keyboards.reservations_keyboard(reservation_page),
            )
        case LanguageButton(chosen):
            reader = reader_of(update)
            await spinner.stopped_by_deadline(
                context.services.users.choose_language(reader, chosen)
            )
            language.remember(context, chosen)
            await spinner.stop(language_texts.language_chosen_short())
            await _show(query, language_texts.language_chosen(), None)
            await language.publish_chat_menu(context, reader.chat_id, chosen)
        case StopPlaceUpdatesButton():
            await spinner.stopped_by_deadline(
                context.services.updates_choice.stop(reader_of(update))
            )
            await spinner.stop(place_updates.stopped_short())
        case WithdrawRequestButton(request_id, page):
            withdrawal = await spinner.stopped_by_deadline(
                context.services.reservations.withdraw_request(reader_of(update), request_id, page)
            )
            await spinner.stop(special_orders.request_withdrawn_short())
            await _show_page(query, withdrawal.page)
        case OrderRequestButton(request_id):
            report = await spinner.stopped_by_deadline(
                context.services.special_orders.order(reader_of(update).telegram_id, request_id)
            )
            context.dispatcher.wake()
            await spinner.stop(special_orders.order_report_short(report))
            await context.bot.send_message(
                reader_of(update).chat_id, special_orders.order_report(report)
            )
        case RequestsPageButton(page):
            requests_page = await spinner.stopped_by_deadline(
                context.services.special_orders.open_requests(reader_of(update).telegram_id, page)
            )
            await spinner.stop()
            await _show(
                query,
                special_orders.requests_page(requests_page),
                keyboards.requests_keyboard(requests_page),
            )


class Spinner:
    """A button's spinner, stopped once: with the outcome's short text when it is ready in
    time, else without text at the deadline (or already, while the press waited for its
    turn, or while a burst came in). A refusal after that comes as a message
    (error_handler sends one when the spinner was stopped already)."""

    def __init__(self, query: CallbackQuery, processor: BaseUpdateProcessor) -> None:
        self._query = query
        self._stopped = False
        # It answers (in the background), or has stopped the spinner early already.
        self._processor = processor

    async def stopped_by_deadline(self, work: Awaitable[T]) -> T:
        """The work's result; the spinner stops if the work outlasts the deadline."""
        task = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({task}, timeout=SPINNER_DEADLINE_SECONDS)
            if not done:
                await self.stop()
            return await task
        except asyncio.CancelledError:
            task.cancel()
            raise

    async def stop(self, text: str | None = None) -> None:
        if self._stopped:
            return
        self._stopped = True
        # Too old, already answered, or Telegram away: the work goes on either way.
        await stop_spinner(self._processor, self._query, text)


async def _show_page(query: CallbackQuery, page: ReservationPage) -> None:
    """The reader's list as it now stands, in place of the one the button was on."""
    await _show(query, reservations.reservation_page(page), keyboards.reservations_keyboard(page))


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
