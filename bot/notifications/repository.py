from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import RestockEvent
from bot.notifications.models import Notification, NotificationKind, NotificationStatus
from bot.reservations.models import PreBooking


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

    async def counts_since(
        self, restock: RestockEvent
    ) -> dict[tuple[str, NotificationStatus], int]:
        """Messages by kind and status: the restock's, and the hold messages about the
        book's reservations queued after it (those belong to no restock)."""
        own = (
            select(Notification.kind, Notification.status, func.count())
            .where(Notification.restock_id == restock.id)
            .group_by(Notification.kind, Notification.status)
        )
        # Only reservations that were ever held have hold messages (hold_expires_at is
        # set when a copy is set aside): a notify_all line joins no notification here.
        later = (
            select(Notification.kind, Notification.status, func.count())
            .join(PreBooking, PreBooking.id == Notification.pre_booking_id)
            .where(PreBooking.book_id == restock.book_id)
            .where(PreBooking.hold_expires_at.is_not(None))
            .where(Notification.restock_id.is_(None))
            # Place updates are the line's news, not the restock's (docs/staff.md).
            .where(Notification.kind != NotificationKind.PLACE_UPDATE.value)
            .where(Notification.created_at >= restock.created_at)
            .group_by(Notification.kind, Notification.status)
        )
        counts: dict[tuple[str, NotificationStatus], int] = {}
        for statement in (own, later):
            for kind, status, count in await self._session.execute(statement):
                counts[kind, status] = counts.get((kind, status), 0) + count
        return counts
