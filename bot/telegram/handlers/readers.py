"""Commands readers send."""

from telegram import Message, Update

from bot.books.schemas import BookPage
from bot.telegram import arguments, keyboards
from bot.telegram.bad_input import UsageError
from bot.telegram.context import BotContext
from bot.telegram.handlers.senders import message_of, reader_of, require_private_chat
from bot.telegram.texts import catalog, commands, pause, reservations


async def start(update: Update, context: BotContext) -> None:
    """Register the reader and say what the bot does."""
    reader = reader_of(update)
    registration = await context.services.users.register(reader)
    await message_of(update).reply_text(commands.welcome(reader.first_name, registration.is_admin))


async def help_command(update: Update, context: BotContext) -> None:
    """List the commands, staff ones included for staff."""
    is_admin = context.services.users.is_admin(reader_of(update).telegram_id)
    await message_of(update).reply_text(commands.help_text(is_admin))


async def books(update: Update, context: BotContext) -> None:
    """Show the catalog's first page, or the books matching the text after the command."""
    require_private_chat(update)
    query = arguments.text_after_command(message_of(update).text) or None
    page = await context.services.holds.list_books(1, query)
    await reply_with_book_page(message_of(update), page)


async def search(update: Update, context: BotContext) -> None:
    """Show the books whose title or author contains the text after the command."""
    require_private_chat(update)
    query = arguments.text_after_command(message_of(update).text)
    if not query:
        raise UsageError("search")
    page = await context.services.holds.list_books(1, query)
    await reply_with_book_page(message_of(update), page)


async def reserve(update: Update, context: BotContext) -> None:
    """Put the reader in line for a sold-out book."""
    book_id = arguments.single_id("reserve", context.args or [])
    confirmation = await context.services.reservations.reserve(reader_of(update), book_id)
    await message_of(update).reply_text(
        reservations.reserved(confirmation),
        reply_markup=keyboards.until_keyboard(confirmation.reservation_id),
    )


async def my_reservations(update: Update, context: BotContext) -> None:
    """List the reader's reservations with Cancel buttons."""
    page = await context.services.reservations.list_reservations(reader_of(update))
    await message_of(update).reply_text(
        reservations.reservation_page(page), reply_markup=keyboards.reservations_keyboard(page)
    )


async def cancel(update: Update, context: BotContext) -> None:
    """Cancel one of the reader's waiting reservations by id."""
    reservation_id = arguments.single_id("cancel", context.args or [])
    cancellation = await context.services.reservations.cancel(reader_of(update), reservation_id)
    await message_of(update).reply_text(reservations.cancelled(cancellation))


async def pause_reservation(update: Update, context: BotContext) -> None:
    """Take one of the reader's reservations out of the line for a while, keeping its place."""
    reservation_id, resume_on = arguments.id_and_optional_day("pause", context.args or [])
    change = await context.services.pauses.pause(reader_of(update), reservation_id, resume_on)
    await message_of(update).reply_text(pause.paused(change))


async def resume_reservation(update: Update, context: BotContext) -> None:
    """Put one of the reader's paused reservations back in line."""
    reservation_id = arguments.single_id("resume", context.args or [])
    change = await context.services.pauses.resume(reader_of(update), reservation_id)
    await message_of(update).reply_text(pause.resumed(change))


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer a command the bot does not have."""
    await message_of(update).reply_text(commands.unknown_command())


async def not_a_command(update: Update, context: BotContext) -> None:
    """Answer plain text, stickers and the like."""
    await message_of(update).reply_text(commands.not_a_command())


async def reply_with_book_page(message: Message, page: BookPage) -> None:
    text = catalog.book_page(page)
    if page.page_count > 1 and not keyboards.search_fits_in_buttons(page):
        text += "\n\n" + catalog.search_unpaged(page)
    await message.reply_text(text, reply_markup=keyboards.books_keyboard(page))
