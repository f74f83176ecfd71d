"""Running the bot until SIGINT or SIGTERM, with its web server when it has one: the
webhook's (Telegram posts updates to it), or /healthz and /metrics beside long polling or
a delivery-only process. The bot starts and stops through the one lifecycle
(bot/telegram/lifecycle.py); the server listens once Telegram has answered."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.addresses import DEFAULT_METRICS_ALLOW, Networks, webhook_path
from bot.database import create_session_factory
from bot.mini_app.routes import DEFAULT_OPTIONS, MiniAppOptions, mini_app_routes
from bot.telegram.context import BotApplication
from bot.telegram.lifecycle import running, stop_on_signals
from bot.web.received_updates import ReceivedUpdates
from bot.web.registration import WebhookRegistration
from bot.web.server import WebServer, web_app
from bot.web.webhook import WebhookEndpoint

logger = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 600


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts (a public URL) and the secret it sends along."""

    url: str
    secret: str


def webhook_server(
    application: BotApplication,
    engine: AsyncEngine,
    webhook: Webhook,
    host: str,
    port: int,
    metrics_allow: Networks = DEFAULT_METRICS_ALLOW,
    mini_app: MiniAppOptions = DEFAULT_OPTIONS,
) -> WebServer:
    """Telegram's posts, /healthz, /metrics and the Mini App."""
    received = ReceivedUpdates(create_session_factory(engine))
    endpoint = WebhookEndpoint(application, received, webhook.secret)
    route = (webhook_path(webhook.url), endpoint.answer)
    routes = mini_app_routes(application, mini_app)
    app = web_app(engine, route, metrics_allow=metrics_allow, mini_app=routes)
    return WebServer(app, host, port)


def status_server(
    engine: AsyncEngine,
    host: str,
    port: int,
    metrics_allow: Networks = DEFAULT_METRICS_ALLOW,
    application: BotApplication | None = None,
    mini_app: MiniAppOptions = DEFAULT_OPTIONS,
) -> WebServer:
    """/healthz and /metrics beside long polling or a delivery-only process, and the
    Mini App when application (the polling bot's) is given."""
    routes = () if application is None else mini_app_routes(application, mini_app)
    return WebServer(web_app(engine, metrics_allow=metrics_allow, mini_app=routes), host, port)


async def run_bot(
    application: BotApplication,
    *,
    polling: bool,
    status: WebServer | None = None,
    webhook: AbstractAsyncContextManager[None] | None = None,
) -> None:
    """The bot until SIGINT or SIGTERM, polling or not (delivery only, webhook). A status
    server (status_server) answers around the bot's whole run, so probes and scrapes work
    while it connects and while it drains; the webhook (serving_webhook) takes Telegram's
    posts only while the bot is started."""
    stopping = stop_on_signals()
    async with serving_status(status), running(application, stopping, polling=polling) as started:
        if not started:
            return
        async with webhook or contextlib.nullcontext():
            await stopping.wait()


@asynccontextmanager
async def serving_status(server: WebServer | None) -> AsyncIterator[None]:
    """/healthz and /metrics (status_server), if any, for the block."""
    if server is None:
        yield
        return
    await server.start()
    logger.info("Serving /healthz and /metrics on port %d", server.port)
    try:
        yield
    finally:
        await server.stop()


@asynccontextmanager
async def serving_webhook(
    server: WebServer, registration: WebhookRegistration, engine: AsyncEngine
) -> AsyncIterator[None]:
    """Telegram's posts (webhook_server) for the block: the webhook registered once the
    server listens, and the updates received meanwhile pruned as they age."""
    await server.start()
    logger.info("Taking Telegram's updates on port %d", server.port)
    received = ReceivedUpdates(create_session_factory(engine))
    pruning = asyncio.create_task(keep_pruning(received))
    try:
        await registration.register()
        yield
    finally:
        pruning.cancel()
        await registration.stop()
        await server.stop()


async def keep_pruning(received: ReceivedUpdates) -> None:
    while True:
        try:
            pruned = await received.prune()
            logger.debug("Forgot %d updates received over a day ago", pruned)
        except Exception as error:  # pruning waits for the next round
            logger.warning("Could not prune received updates (%s)", type(error).__name__)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
