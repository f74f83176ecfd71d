"""A place update whose reader no longer wants it: never sent.

A place update may wait in the outbox for a day (at most one a day per reservation), and
meanwhile its reservation may stop waiting (paused, cancelled, lapsed, told the book is
back, given a copy) or its reader may press Stop these updates. Sent then, it would
speak of a place the reader no longer holds, or after they asked for no more. So the
claim looks at each one, as it looks at hold messages (ended_holds.py, the same locks and
the same reasons), and marks it obsolete unless its reservation is still waiting and its
reader still takes updates.

Pressing Stop also marks the reader's pending updates obsolete at once (obsolete_for);
this check catches an update queued while the press was under way.
"""

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notifications.ended_holds import skip_obsolete
from bot.notifications.models import Notification, NotificationKind, NotificationStatus
from bot.notifications.schemas import Delivery
from bot.reservations.models import PreBooking, ReservationStatus
from bot.users.models import User

PLACE_UPDATE = NotificationKind.PLACE_UPDATE.value


async def skip_stale_places(
    session: AsyncSession, claimed: Sequence[Delivery], places: Mapping[int, int]
) -> tuple[list[Delivery], int]:
    """Of the claimed place updates (places: message id → its reservation), mark obsolete
    those whose reservation no longer waits or whose reader turned updates off; give back
    those whose reservation is changing right now. Runs in the claim's transaction."""
    wanted = (PreBooking.status == ReservationStatus.WAITING) & (
        select(User.line_updates).where(User.id == PreBooking.user_id).scalar_subquery()
    )
    return await skip_obsolete(session, claimed, places, wanted)


async def obsolete_for(session: AsyncSession, telegram_id: int) -> None:
    """The reader's pending place updates, never to be sent: those not out for sending
    right now (one under a live claim goes, like one already sent)."""
    theirs = (
        select(PreBooking.id)
        .join(User, User.id == PreBooking.user_id)
        .where(User.telegram_id == telegram_id)
    )
    await session.execute(
        update(Notification)
        .where(Notification.kind == PLACE_UPDATE)
        .where(Notification.status == NotificationStatus.PENDING)
        .where(Notification.pre_booking_id.in_(theirs.scalar_subquery()))
        .where(Notification.claim_token.is_(None) | (Notification.next_attempt_at <= func.now()))
        .values(status=NotificationStatus.OBSOLETE)
        .execution_options(synchronize_session=False)
    )
