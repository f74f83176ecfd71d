"""Running the bot with its web server: webhook mode, or beside long polling."""

import asyncio
import logging
import signal
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import webhook_path
from bot.database import create_session_factory
from bot.telegram.connecting import initialize
from bot.telegram.context import BotApplication
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
    application: BotApplication, engine: AsyncEngine, webhook: Webhook, host: str, port: int
) -> WebServer:
    received = ReceivedUpdates(create_session_factory(engine))
    endpoint = WebhookEndpoint(application, received, webhook.secret)
    return WebServer(web_app(engine, (webhook_path(webhook.url), endpoint.answer)), host, port)


async def run_webhook(
    application: BotApplication,
    engine: AsyncEngine,
    server: WebServer,
    registration: WebhookRegistration,
) -> None:
    """Serve Telegram's posts (server from webhook_server) until SIGINT or SIGTERM, as
    run_polling polls."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    if not await initialize(application, stopping):
        return
    assert application.post_init is not None
    assert application.post_stop is not None
    pruning = asyncio.create_task(keep_pruning(ReceivedUpdates(create_session_factory(engine))))
    try:
        await application.post_init(application)
        await application.start()
        await server.start()
        logger.info("Taking Telegram's updates on port %d", server.port)
        await registration.register()
        await stopping.wait()
    finally:
        pruning.cancel()
        await registration.stop()
        await server.stop()
        if application.running:
            await application.stop()
        await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def keep_pruning(received: ReceivedUpdates) -> None:
    while True:
        try:
            pruned = await received.prune()
            logger.debug("Forgot %d updates received over a day ago", pruned)
        except Exception as error:  # pruning waits for the next round
            logger.warning("Could not prune received updates (%s)", type(error).__name__)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)


def serve_beside_polling(
    application: BotApplication, engine: AsyncEngine, host: str, port: int
) -> None:
    """/healthz and /metrics on port while run_polling runs, started once connected."""
    server = WebServer(web_app(engine), host, port)
    connected, stopping = application.post_init, application.post_stop
    assert connected is not None
    assert stopping is not None

    async def start(app: BotApplication) -> None:
        await connected(app)
        await server.start()
        logger.info("Serving /healthz and /metrics on %s:%d", host, server.port)

    async def stop(app: BotApplication) -> None:
        await server.stop()
        await stopping(app)

    application.post_init = start
    application.post_stop = stop
