"""GET /healthz for load balancers and orchestrators, GET /metrics for Prometheus."""

import asyncio
import logging

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.metrics.database_gauges import DatabaseGauges

logger = logging.getLogger(__name__)

# A load balancer asks often and wants an answer fast; a database slower than this to say
# SELECT 1 is as good as down for readers.
HEALTH_TIMEOUT_SECONDS = 2.0


class HealthEndpoint:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def answer(self, request: Request) -> Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                async with self._engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure means not healthy
            logger.warning("Health check: the database did not answer (%s)", type(error).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "database": "ok"})


class MetricsEndpoint:
    def __init__(self, engine: AsyncEngine) -> None:
        self._gauges = DatabaseGauges(engine)

    async def answer(self, request: Request) -> Response:
        await self._gauges.refresh()
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
