"""The `bookstore-bot` command: run, migrate, import-books, check, backup, restore, playground."""

import argparse
import asyncio
import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import InvalidToken

from bot import cli_texts
from bot.books.catalog_file import CatalogFileError, read_catalog
from bot.books.service import CatalogRow
from bot.config import Settings, SettingsError, load_settings
from bot.database import create_engine
from bot.database_url import parse_database_url
from bot.delivery.flood_budget.ledger import SharedFloodBudget
from bot.delivery.tuning import DispatcherTuning
from bot.logging_setup import configure_logging
from bot.mini_app.covers import CoverSource
from bot.mini_app.routes import MiniAppOptions
from bot.playground import command as playground
from bot.playground.runner import PlaygroundError
from bot.postgres import migrate
from bot.postgres.backup import BackupError, backup
from bot.postgres.embedded import start_embedded_postgres
from bot.postgres.health_check import Finding, check_database
from bot.postgres.programs import EmbeddedPostgresUnavailable
from bot.postgres.reachable import DatabaseUnreachable, wait_for_database
from bot.postgres.restore import restore
from bot.services import Shop, build_services
from bot.shelf_tags.command import ShelfTagsError, bot_username, write_shelf_tags
from bot.telegram.application import ALLOWED_UPDATES, build_application
from bot.telegram.context import BotApplication
from bot.telegram.reader_messages import TelegramMessages
from bot.web.registration import WebhookRegistration
from bot.web.run import (
    Webhook,
    run_bot,
    serving_webhook,
    status_server,
    webhook_server,
)

logger = logging.getLogger("bot")


class CommandError(Exception):
    """A reason to stop with one line on stderr and no traceback."""


def argument_parser() -> argparse.ArgumentParser:
    """The command line: its subcommands and their options (the docs' test reads them too)."""
    parser = argparse.ArgumentParser(
        prog="bookstore-bot", description="Telegram bot for a bookstore's pre-booking service."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="migrate the database, then answer Telegram (default)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    importer = commands.add_parser("import-books", help="add the books listed in a CSV file")
    importer.add_argument("file", type=Path, help="CSV with the header title,author,quantity")
    commands.add_parser(
        "check", help="say whether the settings and the database let the bot run (exit 0/1)"
    )
    backup_command = commands.add_parser("backup", help="dump the database into a file")
    backup_command.add_argument("file", type=Path, help="the file to write (pg_dump's format)")
    restore_command = commands.add_parser(
        "restore", help="load a backup into an empty database, then migrate it"
    )
    restore_command.add_argument("file", type=Path, help="a file made by bookstore-bot backup")
    restore_command.add_argument(
        "--force", action="store_true", help="replace whatever the database holds"
    )
    trial = commands.add_parser(
        "playground", help="try the bot in a web chat, without Telegram (own database)"
    )
    trial.add_argument("--port", type=int, default=None, help="default: PLAYGROUND_PORT, 8080")
    trial.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    trial.add_argument(
        "--allow-remote", action="store_true", help="allow a --host other machines can reach"
    )
    tags = commands.add_parser("shelf-tags", help="print tags whose QR codes open each book")
    tags.add_argument("--output", type=Path, required=True, help="the PDF to write")
    tags.add_argument("--sold-out", action="store_true", help="only books out of stock")
    tags.add_argument("--bot-username", help="the bot's username (default: getMe, with BOT_TOKEN)")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = argument_parser().parse_args(argv)
    if options.command == "check":
        return check()
    # PTB 22's opt-in to the coming timedelta durations, which silences its deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        settings = load_settings()
        secrets = [settings.bot_token.get_secret_value()] if settings.bot_token else []
        if settings.webhook_secret is not None:
            secrets.append(settings.webhook_secret.get_secret_value())
        configure_logging(settings.log_level, secrets, settings.log_format)
        if options.command == "playground":
            port = settings.playground_port if options.port is None else options.port
            playground.serve(settings, options.host, port, options.allow_remote)
            return 0
        if options.command in (None, "run") and settings.bot_token is None:
            if production := settings.production_settings():
                raise CommandError(no_token_in_production(production))
            print(playground.no_token_line("127.0.0.1", settings.playground_port), flush=True)
            playground.serve(settings, "127.0.0.1", settings.playground_port, False)
            return 0
        # A file that can't be read is said before the database is reached for.
        catalog = read_catalog(options.file) if options.command == "import-books" else []
        with database(settings, patience(options.command, settings)) as database_url:
            match options.command:
                case "migrate":
                    migrate.upgrade(database_url)
                    print("Database is up to date.")
                case "import-books":
                    print(import_books(database_url, catalog))
                case "backup":
                    print(backup(database_url, options.file))
                case "restore":
                    print(restore(database_url, options.file, options.force))
                case "shelf-tags":
                    print(shelf_tags(settings, database_url, options))
                case _:
                    run(settings, database_url)
    except (
        SettingsError,
        CommandError,
        CatalogFileError,
        EmbeddedPostgresUnavailable,
        BackupError,
        PlaygroundError,
        ShelfTagsError,
        DatabaseUnreachable,
    ) as error:
        print(f"bookstore-bot: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl+C before the bot runs (it stops itself on one)
        return 130
    return 0


def no_token_in_production(settings: list[str]) -> str:
    verb = "is" if len(settings) == 1 else "are"
    return (
        f"BOT_TOKEN is not set, but {' and '.join(settings)} {verb}: set BOT_TOKEN "
        "(from @BotFather), or try the bot without one: bookstore-bot playground"
    )


def check() -> int:
    """One line per check on stdout; 0 when the bot can run, 1 when it can't."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"settings: {error}")
        return 1
    secrets = [settings.bot_token.get_secret_value()] if settings.bot_token else []
    configure_logging(settings.log_level, secrets, settings.log_format)
    findings = [
        Finding(True, "settings: usable")
        if settings.bot_token
        else Finding(False, "settings: BOT_TOKEN is not set")
    ]
    try:
        with database(settings) as database_url:
            findings += check_database(database_url)
    except EmbeddedPostgresUnavailable as error:
        findings.append(Finding(False, f"database: {error}"))
    for finding in findings:
        print(finding.line)
    return 0 if all(finding.ok for finding in findings) else 1


@contextmanager
def database(settings: Settings, patience: float | None = None) -> Iterator[str]:
    """DATABASE_URL when given (reached within patience seconds, unless None), else an
    embedded PostgreSQL kept running meanwhile."""
    if settings.database_url:
        if patience is not None:
            wait_for_database(settings.database_url, patience)
        yield settings.database_url
        return
    server = start_embedded_postgres(settings.data_dir)
    try:
        yield server.url
    finally:
        server.release()


def patience(command: str | None, settings: Settings) -> float | None:
    """How long a command waits for DATABASE_URL's server: run a while (beside a server
    still booting), the others try once, a person at a terminal; None: backup and restore
    say it in pg_dump's and psql's own words (bot/postgres/backup.py)."""
    if command in ("backup", "restore"):
        return None
    return settings.database_wait_seconds if command in (None, "run") else 0


def run(settings: Settings, database_url: str) -> None:
    assert settings.bot_token is not None  # checked before the database was started
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    # One flood budget with the bot's other processes, if any (bot/delivery/flood_budget/).
    budget = SharedFloodBudget(
        parse_database_url(database_url).connect, settings.messages_per_second
    )
    application = build_application(
        settings.bot_token.get_secret_value(),
        build_services(engine, TelegramMessages(), Shop.from_settings(settings)),
        messages_per_second=settings.messages_per_second,
        tuning=DispatcherTuning(
            lease=timedelta(seconds=settings.notification_lease_seconds),
            max_age=settings.notification_max_age,
            paid_broadcast=settings.paid_broadcast,
            paid_messages_per_second=settings.paid_messages_per_second,
        ),
        base_url=settings.telegram_base_url,
        polling=settings.webhook_url is None,
        budget=budget,
        web_app_url=settings.mini_app_url,
    )

    async def dispose_engine(_: BotApplication) -> None:
        await budget.close()
        await engine.dispose()

    application.post_shutdown = dispose_engine
    webhook, status = None, None
    if settings.webhook_url is not None:
        webhook = webhook_mode(settings, application, engine)
    elif settings.http_port is not None:
        with cannot_listen(settings.webhook_listen, settings.http_port):
            status = status_server(
                engine,
                settings.webhook_listen,
                settings.http_port,
                settings.metrics_allow,
                application,
                mini_app_options(settings),
            )
    polling = settings.webhook_url is None and settings.poll_updates
    if polling:
        logger.info("Connecting to Telegram (retrying until it answers); Ctrl+C stops the bot")
    elif settings.webhook_url is None:
        logger.info("Delivering notifications only (POLL_UPDATES=false)")
    # What is built by now (modules, settings, the application) lives as long as the bot:
    # out of the collector's full passes, which otherwise walk all of it (~280,000 objects)
    # and stopped the bot for 0.1-0.2 s in the middle of a burst of presses.
    gc.collect()
    gc.freeze()
    try:
        asyncio.run(run_bot(application, polling=polling, status=status, webhook=webhook))
    except InvalidToken:
        raise CommandError("Telegram refused BOT_TOKEN: check it with @BotFather") from None


def webhook_mode(
    settings: Settings, application: BotApplication, engine: AsyncEngine
) -> AbstractAsyncContextManager[None]:
    """Telegram posts updates to WEBHOOK_URL; bot/web/ takes them (docs/operators.md,
    Webhook mode)."""
    assert settings.webhook_url is not None
    assert settings.webhook_secret is not None
    webhook = Webhook(settings.webhook_url, settings.webhook_secret.get_secret_value())
    host, port = settings.webhook_listen, settings.webhook_port
    with cannot_listen(host, port):
        server = webhook_server(
            application,
            engine,
            webhook,
            host,
            port,
            settings.metrics_allow,
            mini_app_options(settings),
        )
    registration = WebhookRegistration(
        application.bot, webhook.url, webhook.secret, ALLOWED_UPDATES
    )
    logger.info("Webhook mode; SIGINT or SIGTERM stops the bot")
    return serving_webhook(server, registration, engine)


def mini_app_options(settings: Settings) -> MiniAppOptions:
    """WEB_APP_AUTH_MAX_AGE, and COVERS_URL's covers kept in DATA_DIR/covers."""
    covers = None
    if settings.covers_url:
        covers = CoverSource(settings.covers_url, settings.data_dir / "covers")
    return MiniAppOptions(settings.web_app_auth_max_age, covers)


@contextmanager
def cannot_listen(host: str, port: int) -> Iterator[None]:
    """A port taken or not ours is one line, not a traceback."""
    try:
        yield
    except OSError as error:
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def import_books(database_url: str, rows: list[CatalogRow]) -> str:
    migrate.upgrade(database_url)

    async def load() -> str:
        engine = create_engine(database_url)
        try:
            report = await build_services(engine, TelegramMessages()).books.import_books(rows)
        finally:
            await engine.dispose()
        return cli_texts.import_report(report)

    return asyncio.run(load())


def shelf_tags(settings: Settings, database_url: str, options: argparse.Namespace) -> str:
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    username = options.bot_username or bot_username(token, settings.telegram_base_url)
    migrate.upgrade(database_url)
    return write_shelf_tags(database_url, options.output, username, options.sold_out)
