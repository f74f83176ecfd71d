"""The notification outbox as the dispatcher uses it: claim due rows, record outcomes.

Claiming stamps rows with a fresh claim token and moves their next_attempt_at one lease
ahead, so other bot processes skip them (FOR UPDATE SKIP LOCKED) and, should this one
die, take them over once the lease ends. An outcome is written only while the row is
still pending under the same token: a process whose lease ran out can't undo the work of
the one that took over. Each outcome is committed on its own, right after its send, so a
crash repeats at most the messages in flight.

How often a row was claimed limits nothing: a row is given up only by age, so that no
outage, however long, and no run of restarts during one can fail a message.
"""

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.models import RestockEvent
from bot.notifications.ended_holds import ABOUT_A_HOLD, skip_ended_holds
from bot.notifications.models import Notification, NotificationStatus
from bot.notifications.reachability import skip_unreachable, unreachable_chats
from bot.notifications.schemas import Claimed, Delivery
from bot.notifications.stale_places import PLACE_UPDATE, skip_stale_places
from bot.users.models import User

PENDING = NotificationStatus.PENDING
FAILED = NotificationStatus.FAILED


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim_due(self, limit: int, lease: timedelta) -> list[Delivery]:
        """The messages to send of a claim (see claim)."""
        return (await self.claim(limit, lease)).deliveries

    async def claim(self, limit: int, lease: timedelta) -> Claimed:
        """Take up to limit due notifications, oldest first, for the length of the lease,
        place updates last (see below); offers and reminders of holds that ended are
        marked obsolete (ended_holds.py), so are place updates no longer wanted
        (stale_places.py), and the messages of unreachable readers are failed
        (reachability.py) instead.
        Also says how many it dealt with: a batch may have nothing to send with more
        due behind it."""
        token = uuid.uuid4()
        async with self._sessions.begin() as session:
            # Place updates last, with only the room the others leave: one cancellation
            # may queue thousands, and the least urgent news must not hold up a copy set
            # aside. The first read takes every other due row it can; what is still due
            # after it is place updates (or a row queued meanwhile), oldest first.
            claimed = await _take(session, limit, lease, token, Notification.kind != PLACE_UPDATE)
            if len(claimed) < limit:
                claimed += await _take(session, limit - len(claimed), lease, token)
            messages = await _restock_messages(session, {row.restock_id for row in claimed})
            deliveries = [
                Delivery(
                    row.id,
                    row.chat_id,
                    row.text or messages.get(row.restock_id, ""),
                    row.attempts,
                    token,
                    row.reply_markup,
                )
                for row in claimed
            ]
            # The readers' rows before the reservations: the order the endings of holds
            # take them in. An ended hold's message is obsolete before its reader is
            # found away.
            away = await unreachable_chats(session, deliveries)
            holds = {row.id: row.pre_booking_id for row in claimed if row.kind in ABOUT_A_HOLD}
            deliveries, busy = await skip_ended_holds(session, deliveries, holds)
            places = {row.id: row.pre_booking_id for row in claimed if row.kind == PLACE_UPDATE}
            deliveries, busy_places = await skip_stale_places(session, deliveries, places)
            busy += busy_places
            deliveries = await skip_unreachable(session, deliveries, away)
        deliveries.sort(key=lambda delivery: (delivery.id in places, delivery.id))
        return Claimed(deliveries, len(claimed) - busy)

    async def mark_sent(self, *deliveries: Delivery) -> None:
        await self._update_owned(deliveries, status=NotificationStatus.SENT, sent_at=func.now())

    async def mark_failed(self, delivery: Delivery, error: str, unreachable: bool) -> None:
        """No further tries; with unreachable, the reader is marked as such."""
        async with self._sessions.begin() as session:
            chat_id = await session.scalar(
                update(Notification)
                .where(_owned([delivery]))
                .values(status=FAILED, last_error=error[:1000], reader_unreachable=unreachable)
                .returning(Notification.chat_id)
            )
            if unreachable and chat_id is not None:
                await session.execute(
                    update(User).where(User.chat_id == chat_id).values(unreachable_at=func.now())
                )

    async def give_up_older_than(self, max_age: timedelta) -> int:
        """Fail the unclaimed pending rows queued more than max_age ago; return how many."""
        async with self._sessions.begin() as session:
            given_up = await session.scalars(
                update(Notification)
                .where(Notification.status == PENDING)
                .where(Notification.next_attempt_at <= func.now())  # not under a claim
                .where(Notification.created_at < func.now() - max_age)
                .values(
                    status=FAILED,
                    last_error=f"not delivered within {_duration(max_age)}",
                    # When it failed (the digest's "failed in the last week"), not when
                    # it was last due: unclaimed through an outage, that was days ago.
                    next_attempt_at=func.now(),
                )
                .returning(Notification.id)
            )
            return len(given_up.all())

    async def give_back(self, deliveries: Sequence[Delivery], delay: timedelta) -> None:
        """Return claimed rows unsent, due after delay; the claim does not count as an attempt.
        No claim holds them meanwhile: a place update given back may be rewritten."""
        if deliveries:
            await self._update_owned(
                deliveries,
                next_attempt_at=func.now() + delay,
                attempts=func.greatest(Notification.attempts - 1, 0),
                claim_token=None,
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

    async def _update_owned(self, deliveries: Sequence[Delivery], **values: Any) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Notification).where(_owned(deliveries)).values(**values))


async def _take(
    session: AsyncSession,
    limit: int,
    lease: timedelta,
    token: uuid.UUID,
    *which: ColumnElement[bool],
) -> list[Row[Any]]:
    """Claim up to limit due rows (of which, if given), oldest first, skipping rows
    others hold. Read off ix_notifications_due in (next_attempt_at, id) order: a filter
    on kind is checked row by row as the scan goes, and with none no other index is a
    candidate (uq_notifications_pending_place_update would be, for kind = place_update,
    and sort the whole backlog)."""
    due = (
        select(Notification.id)
        .where(Notification.status == PENDING)
        .where(Notification.next_attempt_at <= func.now())
        .where(*which)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = await session.execute(
        update(Notification)
        .where(Notification.id.in_(due.scalar_subquery()))
        .values(
            next_attempt_at=func.now() + lease,
            attempts=Notification.attempts + 1,
            claim_token=token,
        )
        .returning(
            Notification.id,
            Notification.chat_id,
            Notification.text,
            Notification.restock_id,
            Notification.attempts,
            Notification.reply_markup,
            Notification.kind,
            Notification.pre_booking_id,
        )
    )
    return list(rows.all())


async def _restock_messages(session: AsyncSession, restock_ids: set[int]) -> dict[int, str]:
    """The messages of these restocks, for outbox rows that don't carry their own text."""
    if not restock_ids:
        return {}
    rows = await session.execute(
        select(RestockEvent.id, RestockEvent.message).where(RestockEvent.id.in_(restock_ids))
    )
    return {id: message or "" for id, message in rows}


def _owned(deliveries: Sequence[Delivery]) -> ColumnElement[bool]:
    """Still pending under the claim these deliveries were taken with."""
    return and_(
        *(
            Notification.id.in_([delivery.id for delivery in deliveries]),
            Notification.claim_token.in_({delivery.claim for delivery in deliveries}),
            Notification.status == PENDING,
        )
    )


def _duration(period: timedelta) -> str:
    """3 days, 12 hours, 90 seconds: the largest whole unit."""
    seconds = int(period.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"
