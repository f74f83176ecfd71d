"""Book cards: /book <id>, /book_<id> links in the catalog, and t.me deep links."""

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.cards.schemas import BookCard
from bot.telegram import arguments, deep_links, keyboards
from bot.telegram.context import BotApplication, BotContext
from bot.telegram.handlers.senders import message_of, reader_of
from bot.telegram.texts import cards, commands

NEW_MESSAGES = filters.UpdateType.MESSAGE
CARD_COMMAND = filters.Regex(r"^/book_[0-9]+(@\w+)?\s*$")


async def start_with_payload(update: Update, context: BotContext) -> None:
    """A t.me link with a payload: the book's card, or a welcome for anything else."""
    reader = reader_of(update)
    book_id = deep_links.book_id_from_start(context.args)
    if book_id is None:
        registration = await context.services.users.register(reader)
        await message_of(update).reply_text(
            commands.welcome(reader.first_name, registration.is_admin)
        )
        return
    # find_card remembers the reader, as /start does, whether or not the book exists.
    card = await context.services.cards.find_card(reader, book_id)
    if card is None:
        # A stale shelf tag or a mistyped link: greet, never scold.
        is_admin = context.services.users.is_admin(reader.telegram_id)
        await message_of(update).reply_text(commands.welcome(reader.first_name, is_admin))
        return
    await reply_with_card(update, context, card)


async def book(update: Update, context: BotContext) -> None:
    """Open a book's card: /book <id or ISBN>."""
    isbn = arguments.isbn_argument(context.args or [])
    if isbn is not None:
        await reply_with_card(
            update, context, await context.services.cards.card_by_isbn(reader_of(update), isbn)
        )
        return
    book_id = arguments.single_id("book", context.args or [])
    await reply_with_card(
        update, context, await context.services.cards.card(reader_of(update), book_id)
    )


async def book_command_link(update: Update, context: BotContext) -> None:
    """Open a book's card from a /book_<id> link in the catalog."""
    book_id = deep_links.book_id_from_command(message_of(update).text)
    if book_id is None:
        await message_of(update).reply_text(commands.unknown_command())
        return
    await reply_with_card(
        update, context, await context.services.cards.card(reader_of(update), book_id)
    )


async def reply_with_card(update: Update, context: BotContext, card: BookCard) -> None:
    link = deep_links.book_link(context.bot.username, card.book.id)
    await message_of(update).reply_text(
        cards.book_card(card, link),
        reply_markup=keyboards.card_keyboard(card, context.web_app_url),
    )


def add_handlers(application: BotApplication) -> None:
    """Before the other commands: /start with a payload is a deep link, not a plain start."""
    application.add_handler(
        CommandHandler("start", start_with_payload, filters=NEW_MESSAGES, has_args=True)
    )
    application.add_handler(CommandHandler("book", book, filters=NEW_MESSAGES))
    application.add_handler(MessageHandler(NEW_MESSAGES & CARD_COMMAND, book_command_link))
