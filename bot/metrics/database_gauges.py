"""Gauges read from the database when Prometheus scrapes, so every process reports the
shared state (the outbox is one for all processes) without a loop of its own.

A scrape costs one short transaction of a few counts, at most once per MIN_INTERVAL
(several scrapers, or one per process, reuse the figures), and never waits long: a slow
or absent database makes the figures NaN (unknown) rather than hold up the scrape.
"""

import asyncio
import logging
import math
import time

from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics.registry import HOLDS_EXPIRING, OUTBOX_MESSAGES

logger = logging.getLogger(__name__)

MIN_INTERVAL = 5.0
TIMEOUT_SECONDS = 2.0

# Each gauge beside the count that sets it; a feature with a figure to show adds a line.
READINGS: list[tuple[Gauge, str]] = [
    # The partial index of due rows (status = 'pending') answers this one.
    (
        OUTBOX_MESSAGES.labels("pending"),
        "SELECT count(*) FROM notifications WHERE status = 'pending'",
    ),
    (
        OUTBOX_MESSAGES.labels("failed"),
        "SELECT count(*) FROM notifications WHERE status = 'failed'",
    ),
    # Offers and reminders not sent because their hold ended: apart from failed, as in
    # /deliveries.
    (
        OUTBOX_MESSAGES.labels("obsolete"),
        "SELECT count(*) FROM notifications WHERE status = 'obsolete'",
    ),
    # The index of holds by deadline answers this one.
    (
        HOLDS_EXPIRING,
        "SELECT count(*) FROM pre_bookings WHERE status = 'on_hold'"
        " AND hold_expires_at < now() + interval '1 day'",
    ),
]


class DatabaseGauges:
    def __init__(self, engine: AsyncEngine, readings: list[tuple[Gauge, str]] = READINGS) -> None:
        self._engine = engine
        self._readings = readings
        self._read_at = -math.inf
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._read_at < MIN_INTERVAL:
                return
            try:
                async with asyncio.timeout(TIMEOUT_SECONDS):
                    counts = await self._read()
            except Exception as error:  # any failure: the figures are unknown
                logger.warning("Metrics: could not read the database (%s)", type(error).__name__)
                counts = [math.nan] * len(self._readings)
            else:
                self._read_at = time.monotonic()
            for (gauge, _), count in zip(self._readings, counts, strict=True):
                gauge.set(count)

    async def _read(self) -> list[float]:
        async with self._engine.begin() as connection:
            timeout_ms = int(TIMEOUT_SECONDS * 1000)
            await connection.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
            return [float((await connection.scalar(text(sql))) or 0) for _, sql in self._readings]
