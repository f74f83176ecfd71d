"""The `bookstore-bot` command: run, migrate, import-books."""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from telegram import Update
from telegram.error import InvalidToken

from bot import migrate
from bot.books.catalog_file import CatalogFileError, read_catalog
from bot.config import Settings, SettingsError, load_settings
from bot.database import create_engine
from bot.database_url import parse_database_url
from bot.embedded_postgres import EmbeddedPostgresUnavailable, start_embedded_postgres
from bot.flood_budget.ledger import SharedFloodBudget
from bot.logging_setup import configure_logging
from bot.services import build_services
from bot.telegram import texts
from bot.telegram.application import build_application
from bot.telegram.context import BotApplication
from bot.telegram.delivery_only import deliver_only
from bot.telegram.dispatcher import DispatcherTuning

logger = logging.getLogger("bot")


class CommandError(Exception):
    """A reason to stop with one line on stderr and no traceback."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bookstore-bot", description="Telegram bot for a bookstore's pre-booking service."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="migrate the database, then answer Telegram (default)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    importer = commands.add_parser("import-books", help="add the books listed in a CSV file")
    importer.add_argument("file", type=Path, help="CSV with the header title,author,quantity")
    options = parser.parse_args(argv)
    # PTB 22's opt-in to the coming timedelta durations, which silences its deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        settings = load_settings()
        secrets = [settings.bot_token.get_secret_value()] if settings.bot_token else []
        configure_logging(settings.log_level, secrets)
        if options.command in (None, "run") and settings.bot_token is None:
            raise CommandError("BOT_TOKEN is not set: get a token from @BotFather and set it")
        with database(settings) as database_url:
            match options.command:
                case "migrate":
                    migrate.upgrade(database_url)
                    print("Database is up to date.")
                case "import-books":
                    print(import_books(database_url, options.file))
                case _:
                    run(settings, database_url)
    except (SettingsError, CommandError, CatalogFileError, EmbeddedPostgresUnavailable) as error:
        print(f"bookstore-bot: error: {error}", file=sys.stderr)
        return 2
    return 0


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """DATABASE_URL when given, else an embedded PostgreSQL kept running meanwhile."""
    if settings.database_url:
        yield settings.database_url
        return
    server = start_embedded_postgres(settings.data_dir)
    try:
        yield server.url
    finally:
        server.release()


def run(settings: Settings, database_url: str) -> None:
    assert settings.bot_token is not None  # checked before the database was started
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    # One flood budget with the bot's other processes, if any (bot/flood_budget/).
    budget = SharedFloodBudget(
        parse_database_url(database_url).connect, settings.messages_per_second
    )
    application = build_application(
        settings.bot_token.get_secret_value(),
        build_services(engine, settings.admin_ids, texts.back_in_stock),
        messages_per_second=settings.messages_per_second,
        tuning=DispatcherTuning(
            lease=timedelta(seconds=settings.notification_lease_seconds),
            max_age=settings.notification_max_age,
            paid_broadcast=settings.paid_broadcast,
            paid_messages_per_second=settings.paid_messages_per_second,
        ),
        base_url=settings.telegram_base_url,
        budget=budget,
    )

    async def dispose_engine(_: BotApplication) -> None:
        await budget.close()
        await engine.dispose()

    application.post_shutdown = dispose_engine
    if not settings.poll_updates:
        asyncio.run(deliver_only(application))
        return
    logger.info("Connecting to Telegram (retrying until it answers); Ctrl+C stops the bot")
    try:
        # bootstrap_retries=-1: when Telegram is unreachable at start, keep trying.
        application.run_polling(
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER],
            bootstrap_retries=-1,
        )
    except InvalidToken:
        raise CommandError("Telegram refused BOT_TOKEN: check it with @BotFather") from None


def import_books(database_url: str, path: Path) -> str:
    rows = read_catalog(path)
    migrate.upgrade(database_url)

    async def load() -> str:
        engine = create_engine(database_url)
        try:
            report = await build_services(
                engine, frozenset(), texts.back_in_stock
            ).books.import_books(rows)
        finally:
            await engine.dispose()
        return texts.import_report(report)

    return asyncio.run(load())
