"""`bookstore-bot shelf-tags`: the catalog's tags as a PDF, each QR code a deep link."""

import asyncio
from pathlib import Path

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.database import create_engine
from bot.services import build_services
from bot.shelf_tags import texts
from bot.shelf_tags.pdf import ShelfTag, shelf_tags_pdf
from bot.telegram import deep_links
from bot.telegram.reader_messages import TelegramMessages
from bot.telegram.texts import isbns


class ShelfTagsError(Exception):
    """A reason the tags can't be made, in one line for the terminal."""


def bot_username(token: str | None, base_url: str | None) -> str:
    """The bot's username, as Telegram's getMe gives it for the token."""
    if token is None:
        raise ShelfTagsError("set BOT_TOKEN, or give the bot's username with --bot-username")

    async def ask() -> str:
        bot = Bot(token, base_url=base_url or "https://api.telegram.org/bot")
        async with bot:
            return bot.username

    try:
        return asyncio.run(ask())
    except InvalidToken:
        raise ShelfTagsError("Telegram refused BOT_TOKEN: check it with @BotFather") from None
    except TelegramError as error:
        raise ShelfTagsError(
            f"could not ask Telegram for the bot's username ({error.message}); "
            "give it with --bot-username"
        ) from None


def write_shelf_tags(database_url: str, output: Path, username: str, sold_out: bool) -> str:
    """Write the PDF; return what to tell the operator."""
    username = username.removeprefix("@")

    async def books() -> list[ShelfTag]:
        engine = create_engine(database_url)
        try:
            services = build_services(engine, TelegramMessages())
            found = await services.cards.books_for_tags(sold_out)
        finally:
            await engine.dispose()
        return [
            ShelfTag(
                book.title,
                book.author,
                deep_links.book_link(username, book.id),
                isbns.isbn_line(book.isbn) if book.isbn else "",
            )
            for book in found
        ]

    tags = asyncio.run(books())
    try:
        output.write_bytes(shelf_tags_pdf(tags, texts.shelf_tag_call_to_scan()))
    except OSError as error:
        raise ShelfTagsError(f"could not write {output}: {error.strerror}") from None
    return texts.shelf_tags_written(len(tags), str(output))
