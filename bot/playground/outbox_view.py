"""The outbox as the playground's panel shows it: how many messages wait, went, failed."""

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.notifications.models import Notification

LATEST_ROWS = 8


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    status: str
    attempts: int
    last_error: str | None


async def outbox_summary(engine: AsyncEngine) -> dict[str, Any]:
    """Counts by status and the latest rows, newest first (read only)."""
    async with engine.connect() as connection:
        counts = dict(
            (
                await connection.execute(
                    select(Notification.status, func.count()).group_by(Notification.status)
                )
            ).all()
        )
        latest = (
            await connection.execute(
                select(
                    Notification.id,
                    Notification.chat_id,
                    Notification.status,
                    Notification.attempts,
                    Notification.last_error,
                )
                .order_by(Notification.id.desc())
                .limit(LATEST_ROWS)
            )
        ).all()
    return {
        "counts": {status.value: count for status, count in counts.items()},
        "latest": [
            asdict(OutboxRow(row.id, row.chat_id, row.status.value, row.attempts, row.last_error))
            for row in latest
        ],
    }
