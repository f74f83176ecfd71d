from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.errors import BookNotFound
from bot.books.models import RestockEvent
from bot.books.repository import BookRepository
from bot.notifications.models import Notification, NotificationStatus
from bot.notifications.schemas import DeliveryReport
from bot.users.admins import Admins


class NotificationService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], admins: Admins) -> None:
        self._sessions = sessions
        self._admins = admins

    async def deliveries(self, actor_id: int, book_id: int) -> DeliveryReport:
        """Sent, pending and failed messages of the book's latest restock that notified anyone."""
        self._admins.require(actor_id)
        async with self._sessions.begin() as session:
            book = await BookRepository(session).get(book_id)
            if book is None:
                raise BookNotFound(book_id)
            latest = await session.execute(
                select(RestockEvent.id, RestockEvent.created_at)
                .where(RestockEvent.book_id == book_id)
                .where(
                    select(Notification.id)
                    .where(Notification.restock_id == RestockEvent.id)
                    .exists()
                )
                .order_by(RestockEvent.id.desc())
                .limit(1)
            )
            restock = latest.one_or_none()
            counts: dict[NotificationStatus, int] = {}
            if restock is not None:
                rows = await session.execute(
                    select(Notification.status, func.count())
                    .where(Notification.restock_id == restock.id)
                    .group_by(Notification.status)
                )
                counts = {status: count for status, count in rows}
        return DeliveryReport(
            book.id,
            book.title,
            book.author,
            None if restock is None else restock.created_at,
            counts.get(NotificationStatus.SENT, 0),
            counts.get(NotificationStatus.PENDING, 0),
            counts.get(NotificationStatus.FAILED, 0),
        )
