"""Readers' special orders: a reader's /request and /unrequest, staff's /requests,
/order and /decline."""

from telegram import Update

from bot.special_orders.schemas import InCatalog
from bot.telegram import arguments, keyboards
from bot.telegram.context import BotContext
from bot.telegram.handlers.cards import reply_with_card
from bot.telegram.handlers.senders import message_of, reader_of, sender_id
from bot.telegram.texts import special_orders


async def request(update: Update, context: BotContext) -> None:
    """Ask the shop for a book: its card if the catalog has it, else a request."""
    isbn, title, author = arguments.request_fields(
        "request", arguments.text_after_command(message_of(update).text)
    )
    reader = reader_of(update)
    result = await context.services.special_orders.request(reader, isbn, title, author)
    if isinstance(result, InCatalog):
        # The catalog has it: its card, to reserve or buy from there.
        await reply_with_card(
            update, context, await context.services.cards.card(reader, result.book_id)
        )
        return
    await message_of(update).reply_text(special_orders.requested(result))


async def unrequest(update: Update, context: BotContext) -> None:
    """Take back one of the reader's open requests."""
    request_id = arguments.single_id("unrequest", context.args or [])
    withdrawal = await context.services.reservations.withdraw_request(
        reader_of(update), request_id
    )
    await message_of(update).reply_text(special_orders.request_withdrawn(withdrawal))


async def requests(update: Update, context: BotContext) -> None:
    """Staff: the open requests, the most wanted first, with Order buttons."""
    context.services.users.require_admin(sender_id(update))
    page = await context.services.special_orders.open_requests(sender_id(update))
    await message_of(update).reply_text(
        special_orders.requests_page(page), reply_markup=keyboards.requests_keyboard(page)
    )


async def order(update: Update, context: BotContext) -> None:
    """Staff ordered a request's book: its readers join its line, each told."""
    context.services.users.require_admin(sender_id(update))
    request_id, isbn, day = arguments.order_fields("order", context.args or [])
    report = await context.services.special_orders.order(sender_id(update), request_id, isbn, day)
    context.dispatcher.wake()
    await message_of(update).reply_text(special_orders.order_report(report))


async def decline(update: Update, context: BotContext) -> None:
    """Staff declined a request: each reader told why."""
    context.services.users.require_admin(sender_id(update))
    request_id, reason = arguments.id_and_text(
        "decline", arguments.text_after_command(message_of(update).text)
    )
    report = await context.services.special_orders.decline(sender_id(update), request_id, reason)
    context.dispatcher.wake()
    await message_of(update).reply_text(special_orders.decline_report(report))
