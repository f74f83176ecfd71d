"""Inline search: `@<bot> dune` in any chat lists matching books, each with a link
into the bot. The query text and the offset come from clients, so both are untrusted."""

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import InlineQueryHandler

from bot.cards.schemas import BookInLine
from bot.telegram import deep_links, keyboards
from bot.telegram.context import BotApplication, BotContext
from bot.telegram.texts import cards

# Short: availability and lines change by the minute, and Telegram caches answers.
CACHE_SECONDS = 10
MAX_OFFSET_DIGITS = 4


async def inline_search(update: Update, context: BotContext) -> None:
    """Answer an inline query with one page of matching books (the longest lines when empty)."""
    query = update.inline_query
    if query is None:
        return
    page = page_of_offset(query.offset)
    found = await context.services.cards.inline_page(query.query, page)
    results = [result(item, context.bot.username) for item in found.books]
    await query.answer(
        results,
        cache_time=CACHE_SECONDS,
        next_offset=None if found.next_page is None else str(found.next_page),
    )


def page_of_offset(offset: str) -> int:
    """Our offsets are page numbers; an empty one is the first page, anything else
    that is not one of ours is a page that does not exist (0)."""
    if not offset:
        return 1
    if not (offset.isascii() and offset.isdigit()) or len(offset) > MAX_OFFSET_DIGITS:
        return 0
    return int(offset)


def result(item: BookInLine, bot_username: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=str(item.book.id),
        title=cards.inline_title(item.book),
        description=cards.inline_description(item),
        input_message_content=InputTextMessageContent(
            cards.inline_card(item), parse_mode=ParseMode.HTML
        ),
        reply_markup=keyboards.inline_result_keyboard(
            deep_links.book_link(bot_username, item.book.id), item.book
        ),
    )


def add_handlers(application: BotApplication) -> None:
    application.add_handler(InlineQueryHandler(inline_search))
