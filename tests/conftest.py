"""A real PostgreSQL for every test, its schema made by the migrations."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.database import async_database_url, create_engine
from bot.delivery.tuning import DispatcherTuning
from bot.holds.policy import HoldPolicy
from bot.postgres import migrate
from bot.postgres.embedded import start_embedded_postgres
from bot.services import Services, Shop, build_services
from bot.telegram import lifecycle
from bot.telegram.application import build_application
from bot.telegram.context import BotApplication
from bot.telegram.handlers import buttons
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN, Chat
from tests.fake_telegram import FakeBotApi, FakeRequest

TOKEN = "123456789:TEST-token_0123456789abcdefghij"

# PTB 22's opt-in to retry_after as a timedelta, as the bot's entry point does.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """TEST_DATABASE_URL's server, or an embedded PostgreSQL made for this run."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with TemporaryDirectory(prefix="bookstore-tests-") as folder:
        reachable_by_the_servers_user(Path(folder))
        server = start_embedded_postgres(Path(folder))
        yield server.url
        server.release()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A DATA_DIR for an embedded PostgreSQL, outside pytest's temporary folder: each pytest
    run (of any project) makes that one private to its user, which as root would lock the
    server's own system user out of it."""
    with TemporaryDirectory(prefix="bookstore-tests-") as folder:
        reachable_by_the_servers_user(Path(folder))
        yield Path(folder).resolve()  # as the server names it (macOS: /private/tmp)


def reachable_by_the_servers_user(folder: Path) -> None:
    """The test's own folder (0700 as made), opened so that as root the server's system user
    keeps its data right there, where the tests look, and not under /var/lib."""
    folder.chmod(0o755)


@asynccontextmanager
async def temporary_database(server_url: str, locale: str | None = None) -> AsyncIterator[str]:
    """A new, empty database on the server (in locale, if given), dropped afterwards."""
    name = f"bookstore_test_{uuid.uuid4().hex[:12]}"
    # LOCALE_PROVIDER libc: on a server whose default is the builtin provider (the embedded
    # PostgreSQL 18) the lc_ctype alone would not decide how lower() folds.
    in_locale = (
        f" TEMPLATE template0 LOCALE_PROVIDER libc LC_COLLATE '{locale}' LC_CTYPE '{locale}'"
        if locale
        else ""
    )
    admin = create_async_engine(async_database_url(server_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"{in_locale}'))
    try:
        yield (
            async_database_url(server_url).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection)
        await engine.dispose()
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def services(engine: AsyncEngine) -> Services:
    """Services on empty tables; ADMIN is staff. Place updates off, here and under holds:
    tests of other things see their own messages only (tests/test_place_updates.py)."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "TRUNCATE notifications, restocks, pre_bookings, books, users "
                "RESTART IDENTITY CASCADE"
            )
        )
    return build_services(
        engine, TelegramMessages(), Shop(frozenset({ADMIN.id}), line_updates=False)
    )


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


# Quick to poll, retry and take over, so tests don't wait.
FAST = DispatcherTuning(
    poll_interval=0.05,
    lease=timedelta(seconds=2),
    first_probe_delay=0.05,
    max_probe_delay=0.5,
)


def bot_application(
    services: Services,
    api: FakeBotApi,
    messages_per_second: float = 1000,
    name: str = "",
    tuning: DispatcherTuning = FAST,
    hold_poll_interval: float = 1.0,
    web_app_url: str | None = None,
) -> BotApplication:
    """The real Application on the fake Bot API, unpaced unless the test asks (and its
    line's loop as quick as the test needs); with web_app_url, the Mini App's menu button."""
    return build_application(
        TOKEN,
        services,
        messages_per_second=messages_per_second,
        tuning=tuning,
        request=FakeRequest(api, name),
        get_updates_request=FakeRequest(api, name),
        hold_poll_interval=hold_poll_interval,
        web_app_url=web_app_url,
    )


@pytest.fixture(autouse=True)
def unhurried_spinner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Conversations check the toast each press ends with; on a loaded CI machine a press
    can outlast the 0.2 s spinner deadline, which then stops the spinner without text.
    Tests of the deadline itself are marked spinner_deadline (tests/test_bursts.py)."""
    if request.node.get_closest_marker("spinner_deadline") is None:
        monkeypatch.setattr(buttons, "SPINNER_DEADLINE_SECONDS", 5.0)


@pytest.fixture
async def chat(services: Services, api: FakeBotApi) -> AsyncIterator[Chat]:
    async with running(bot_application(services, api)) as application:
        yield Chat(application, api)


@asynccontextmanager
async def running(application: BotApplication) -> AsyncIterator[BotApplication]:
    """Started and stopped as the bot is (bot/telegram/lifecycle.py), minus the polling."""
    async with lifecycle.running(application):
        yield application


# Holds (RESTOCK_POLICY=hold_in_line), in the shop's time zone of Berlin.
SHOP_ZONE = "Europe/Berlin"
HOLD_POLICY = HoldPolicy(
    hold_in_line=True,
    pickup_window=timedelta(days=2),
    pickup_reminder=timedelta(days=1),
)
HOLD_SHOP = Shop(frozenset({ADMIN.id}), HOLD_POLICY, ZoneInfo(SHOP_ZONE), line_updates=False)


@pytest.fixture
async def hold_services(services: Services, engine: AsyncEngine) -> Services:
    """Services on empty tables under hold_in_line; ADMIN is staff."""
    return build_services(engine, TelegramMessages(), HOLD_SHOP)


@pytest.fixture
async def hold_chat(hold_services: Services, api: FakeBotApi) -> AsyncIterator[Chat]:
    application = build_application(
        TOKEN,
        hold_services,
        messages_per_second=1000,
        tuning=FAST,
        request=FakeRequest(api),
        get_updates_request=FakeRequest(api),
        hold_poll_interval=0.05,
    )
    async with running(application) as running_application:
        yield Chat(running_application, api)
