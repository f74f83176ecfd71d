"""The bot's HTTP server: the webhook (in webhook mode), /healthz, /metrics and the Mini
App (/app, bot/mini_app/).

Starlette routes the requests and uvicorn serves them: the pair python-telegram-bot's
custom-webhook example uses, both maintained, small, and asyncio-native, so they run in
the bot's own event loop beside the Application. PTB's built-in webhook server (tornado)
could not serve /healthz and /metrics nor refuse a bad body our way.
"""

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.addresses import DEFAULT_METRICS_ALLOW, Networks
from bot.web.health import HealthEndpoint, MetricsEndpoint

Endpoint = Callable[[Request], Awaitable[Response]]

# In-flight requests get this long to finish when the bot stops.
GRACEFUL_STOP_SECONDS = 5
# How long an idle connection is kept open. It must outlast the idle timeout of whatever
# keeps connections to us (a balancer: 60 s is common, as AWS's ALB and many proxies), so
# the client always closes first; with uvicorn's default of 5 s, an update sent as we
# close fails and Telegram sends it again. An idle connection costs a socket, no task;
# stopping closes idle connections at once.
KEEP_ALIVE_SECONDS = 75


def web_app(
    engine: AsyncEngine,
    webhook: tuple[str, Endpoint] | None = None,
    *,
    metrics_allow: Networks = DEFAULT_METRICS_ALLOW,
    mini_app: Sequence[BaseRoute] = (),
) -> Starlette:
    """/healthz and /metrics, in full for metrics_allow's clients; with webhook, (path,
    endpoint) taking Telegram's posts; the Mini App's routes, if given."""
    routes: list[BaseRoute] = [
        Route("/healthz", HealthEndpoint(engine, metrics_allow).answer, methods=["GET"]),
        Route("/metrics", MetricsEndpoint(engine, metrics_allow).answer, methods=["GET"]),
    ]
    if webhook is not None:
        path, endpoint = webhook
        routes.append(Route(path, endpoint, methods=["POST"]))
    routes += mini_app
    return Starlette(routes=routes)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Signals belong to the bot (bot/telegram/lifecycle.py), which
        # stops this server as part of stopping.
        yield


class WebServer:
    """uvicorn serving app inside the running event loop, started and stopped by the bot."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        # Bound here, so a port in use is a clear error before anything starts.
        self._socket = socket.create_server((host, port), reuse_port=False)
        # No Nagle: asyncio turns it off only for sockets made with IPPROTO_TCP, which
        # create_server's are not, so every answer on a kept-alive connection but the
        # first waited out the client's delayed ACK (40 ms on Linux). Connections
        # accepted from this socket inherit the option.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        config = uvicorn.Config(
            app,
            log_config=None,  # the bot's logging, which keeps the token out
            access_log=False,
            # The client is the connection's peer (bot/web/access.py): uvicorn would
            # otherwise take X-Forwarded-For's word from loopback (FORWARDED_ALLOW_IPS).
            proxy_headers=False,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        port: int = self._socket.getsockname()[1]
        return port

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve([self._socket]), name="web-server")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the web server did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
            self._task = None
        self._socket.close()
