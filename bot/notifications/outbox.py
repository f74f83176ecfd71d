"""The notification outbox as the dispatcher uses it: claim due rows, record outcomes.

Claiming moves a row's next_attempt_at one lease ahead, so other bot processes skip it
(FOR UPDATE SKIP LOCKED) and, should this process die, take it over once the lease ends.
Each outcome is committed on its own, right after the send, so a crash repeats at most
the messages that were in flight.
"""

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notifications.models import Notification, NotificationStatus
from bot.notifications.schemas import Delivery
from bot.users.models import User

PENDING = NotificationStatus.PENDING


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_attempts: int = 5) -> None:
        self._sessions = sessions
        self.max_attempts = max_attempts

    async def claim_due(self, limit: int, lease: timedelta) -> list[Delivery]:
        """Take up to limit due notifications, oldest first, for the length of the lease."""
        due = (
            select(Notification.id)
            .where(Notification.status == PENDING)
            .where(Notification.next_attempt_at <= func.now())
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions.begin() as session:
            rows = await session.execute(
                update(Notification)
                .where(Notification.id.in_(due.scalar_subquery()))
                .values(
                    next_attempt_at=func.now() + lease,
                    attempts=Notification.attempts + 1,
                )
                .returning(
                    Notification.id, Notification.chat_id, Notification.text, Notification.attempts
                )
            )
            return sorted((Delivery(*row) for row in rows), key=lambda delivery: delivery.id)

    async def mark_sent(self, notification_id: int) -> None:
        await self._update(
            notification_id, status=NotificationStatus.SENT, sent_at=func.now(), last_error=None
        )

    async def mark_failed(self, notification_id: int, error: str, unreachable: bool) -> None:
        """No further tries; with unreachable, the reader is marked as such."""
        async with self._sessions.begin() as session:
            chat_id = await session.scalar(
                update(Notification)
                .where(Notification.id == notification_id)
                .values(status=NotificationStatus.FAILED, last_error=error[:1000])
                .returning(Notification.chat_id)
            )
            if unreachable and chat_id is not None:
                await session.execute(
                    update(User).where(User.chat_id == chat_id).values(unreachable_at=func.now())
                )

    async def retry_later(self, notification_id: int, error: str, delay: timedelta) -> None:
        """Another try after delay, unless the attempts are used up: then failed."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Notification)
                .where(Notification.id == notification_id)
                .values(next_attempt_at=func.now() + delay, last_error=error[:1000])
            )
            await session.execute(
                update(Notification)
                .where(Notification.id == notification_id)
                .where(Notification.attempts >= self.max_attempts)
                .values(status=NotificationStatus.FAILED)
            )

    async def postpone(self, notification_ids: list[int], delay: timedelta) -> None:
        """Give claimed rows back, due after delay; the claim does not count as an attempt."""
        if not notification_ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(Notification)
                .where(Notification.id.in_(notification_ids))
                .where(Notification.status == PENDING)
                .values(
                    next_attempt_at=func.now() + delay,
                    attempts=func.greatest(Notification.attempts - 1, 0),
                )
            )

    async def pending_count(self) -> int:
        """Notifications not yet sent or failed, claimed or not, due or not."""
        async with self._sessions.begin() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.status == PENDING)
            )
        return count or 0

    async def _update(self, notification_id: int, **values: object) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Notification).where(Notification.id == notification_id).values(**values)
            )
