from datetime import UTC, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.repository import BookRepository
from bot.notifications.models import NotificationKind, NotificationStatus
from bot.notifications.reachability import requeue_missed
from bot.notifications.repository import NotificationRepository
from bot.notifications.schemas import DeliveryReport, KindCounts
from bot.users.admins import Admins
from bot.users.repository import UserRepository


class NotificationService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], admins: Admins, zone: tzinfo = UTC
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._zone = zone  # the shop's (TIMEZONE): the report's times are in it

    async def deliveries(self, actor_id: int, book_id: int) -> DeliveryReport:
        """Sent, pending, failed and obsolete messages about the book since its latest restock that
        notified anyone (or its withdrawal, if later), kind by kind."""
        self._admins.require(actor_id)
        async with self._sessions.begin() as session:
            book = await BookRepository(session).get_existing(book_id)
            notifications = NotificationRepository(session)
            restock = await notifications.latest_notifying_restock(book_id)
            counts = {} if restock is None else await notifications.counts_since(restock)
        # Withdrawal notices belong to the withdrawal's entry in the stock log and to no
        # other: where they are counted, that entry is the one the report starts from.
        withdrawal = any(kind == NotificationKind.WITHDRAWN.value for kind, _ in counts)
        return DeliveryReport(
            book.id,
            book.title,
            book.author,
            None if restock is None else restock.created_at.astimezone(self._zone),
            tuple(
                KindCounts(
                    kind.value,
                    counts.get((kind.value, NotificationStatus.SENT), 0),
                    counts.get((kind.value, NotificationStatus.PENDING), 0),
                    counts.get((kind.value, NotificationStatus.FAILED), 0),
                    counts.get((kind.value, NotificationStatus.OBSOLETE), 0),
                )
                for kind in NotificationKind
                if any(counted == kind.value for counted, _ in counts)
            ),
            withdrawal,
        )

    async def reachable_again(self, telegram_id: int) -> int:
        """The reader unblocked the bot or wrote to it: if they were unreachable, queue
        again what they missed that is still in stock; return how many messages."""
        # Nearly everyone is reachable, and this runs for every update: one read, outside
        # a transaction, says so. It sees what the update below would (that finds no row
        # to change for a reachable reader, and locks nothing).
        async with self._sessions() as session:
            if not await UserRepository(session).is_unreachable(telegram_id):
                return 0
        async with self._sessions.begin() as session:
            user_id = await UserRepository(session).mark_reachable(telegram_id)
            if user_id is None:
                return 0
            return await requeue_missed(session, user_id)
