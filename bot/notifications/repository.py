from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import RestockEvent
from bot.notifications.models import Notification, NotificationStatus


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def latest_notifying_restock(self, book_id: int) -> RestockEvent | None:
        """The book's most recent restock that queued any message."""
        return await self._session.scalar(
            select(RestockEvent)
            .where(RestockEvent.book_id == book_id)
            .where(
                select(Notification.id).where(Notification.restock_id == RestockEvent.id).exists()
            )
            .order_by(RestockEvent.id.desc())
            .limit(1)
        )

    async def status_counts(self, restock_id: int) -> dict[NotificationStatus, int]:
        rows = await self._session.execute(
            select(Notification.status, func.count())
            .where(Notification.restock_id == restock_id)
            .group_by(Notification.status)
        )
        return {status: count for status, count in rows}
