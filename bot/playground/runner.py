"""Running the playground: the real bot against the local Bot API, and the web chat.

Everything runs in one event loop: the ASGI server (web chat and Bot API on one port),
the bot's own Application (handlers, services, dispatcher, pacer) polling that Bot API
over HTTP exactly as it polls Telegram, and a watcher that shows the outbox on the page.
"""

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware

from bot.database import create_engine
from bot.mini_app.routes import mini_app_routes
from bot.playground import sample_shop
from bot.playground.flood_control import TELEGRAM_LIMITS
from bot.playground.local_bot_api import LocalBotApi
from bot.playground.same_origin import SameOriginOnly, ServedAddress
from bot.playground.web_chat import WebChat
from bot.postgres import migrate
from bot.services import Shop, build_services
from bot.telegram.application import build_application
from bot.telegram.context import BotApplication
from bot.telegram.lifecycle import running
from bot.telegram.reader_messages import TelegramMessages
from bot.web.server import WebServer, web_app

# The local Bot API knows this token only; it is no secret and opens nothing on Telegram.
PLAYGROUND_TOKEN = "1000000001:playground-token-for-the-local-bot-api"  # noqa: S105
STARTUP_TIMEOUT_SECONDS = 10.0


class PlaygroundError(Exception):
    """A reason the playground cannot start; one line for the terminal."""


@dataclass
class Playground:
    url: str
    web_chat: WebChat
    application: BotApplication
    # the Mini App's address, on the bot's own web server beside the playground's
    mini_app_url: str


def listening_socket(host: str, port: int, allow_remote: bool) -> socket.socket:
    """The page's socket, bound now so a taken port is reported before anything starts."""
    if not allow_remote and not _is_loopback(host):
        raise PlaygroundError(
            f"{host} can be reached from other machines: pass --allow-remote to listen there"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PlaygroundError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def page_url(sock: socket.socket, for_the_bot: bool = False) -> str:
    host, port = sock.getsockname()[:2]
    # Listening on every interface: the bot reaches it on the loopback one.
    if for_the_bot and host in ("0.0.0.0", "::"):  # noqa: S104
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@asynccontextmanager
async def running_playground(
    database_url: str,
    sock: socket.socket,
    shop: Shop | None = None,
    messages_per_second: float = 29.0,
    stopping: asyncio.Event | None = None,
    host: str | None = None,
) -> AsyncIterator[Playground]:
    """The playground on this database and socket, until the block ends; under the shop's
    rules (ADMIN_IDS, RESTOCK_POLICY, TIMEZONE: Shop.from_settings) as the bot runs, the
    sample shop's staff member among the staff. It answers requests naming the socket's
    address or `host` (the name it was told to listen on), from its own page only."""
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await migrate.upgrade_on(connection)
    shop = shop or Shop()
    staffed = replace(shop, admin_ids=shop.admin_ids | {sample_shop.STAFF.id})
    services = build_services(engine, TelegramMessages(), staffed)
    await sample_shop.stock_if_empty(engine, services)
    web_chat = WebChat(PLAYGROUND_TOKEN, LocalBotApi(limits=TELEGRAM_LIMITS), engine, services)
    bound_host, port = sock.getsockname()[:2]
    served = ServedAddress(host or bound_host, port)
    server = _QuietServer(
        uvicorn.Config(
            Starlette(
                routes=web_chat.routes(),
                middleware=[Middleware(SameOriginOnly, served=served)],
            ),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    # The bot's web server with the Mini App, on a port of its own: another origin than
    # the playground's page, as a Mini App is on Telegram.
    bot_web = web_app(engine)
    mini_app_server = WebServer(bot_web, bound_host, 0)
    mini_app_url = f"{page_url(sock).rsplit(':', 1)[0]}:{mini_app_server.port}/app"
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="playground-server")
    watching = asyncio.create_task(web_chat.watch_outbox(), name="playground-outbox")
    try:
        await _until_listening(server, serving)
        application = build_application(
            PLAYGROUND_TOKEN,
            services,
            messages_per_second=messages_per_second,
            base_url=page_url(sock, for_the_bot=True) + "/bot",
            web_app_url=mini_app_url,
        )
        bot_web.router.routes.extend(mini_app_routes(application))
        await mini_app_server.start()
        # stopping: Ctrl+C while the bot connects ends the start-up too.
        async with running(application, stopping, polling=True):
            yield Playground(page_url(sock), web_chat, application, mini_app_url)
    finally:
        await mini_app_server.stop()
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        web_chat.close()
        server.should_exit = True
        with contextlib.suppress(SystemExit):
            await serving
        await engine.dispose()


async def _until_listening(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if serving.done() or time.monotonic() > deadline:
            raise PlaygroundError("the playground's web server did not start")
        await asyncio.sleep(0.02)


class _QuietServer(uvicorn.Server):
    """Leaves Ctrl+C to the playground, which stops the bot before the server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
