"""GET /healthz for load balancers and orchestrators, GET /metrics for Prometheus: both
for the operator's own networks (bot/web/access.py), which see the figures; the outside
gets 403 from /metrics and only ok or not from /healthz."""

import asyncio
import logging

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.addresses import Networks
from bot.metrics.database_gauges import DatabaseGauges
from bot.web.access import allowed_client

logger = logging.getLogger(__name__)

# A load balancer asks often and wants an answer fast; a database slower than this to say
# SELECT 1 is as good as down for readers.
HEALTH_TIMEOUT_SECONDS = 2.0


class HealthEndpoint:
    def __init__(self, engine: AsyncEngine, allowed: Networks) -> None:
        self._engine = engine
        self._allowed = allowed

    async def answer(self, request: Request) -> Response:
        healthy = await self._database_answers()
        answer = {"status": "ok" if healthy else "unavailable"}
        if allowed_client(request, self._allowed):
            answer["database"] = "ok" if healthy else "unreachable"
        return JSONResponse(answer, 200 if healthy else 503)

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                async with self._engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure means not healthy
            logger.warning("Health check: the database did not answer (%s)", type(error).__name__)
            return False
        return True


class MetricsEndpoint:
    def __init__(self, engine: AsyncEngine, allowed: Networks) -> None:
        self._gauges = DatabaseGauges(engine)
        self._allowed = allowed

    async def answer(self, request: Request) -> Response:
        if not allowed_client(request, self._allowed):
            return Response(status_code=403)
        await self._gauges.refresh()
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
