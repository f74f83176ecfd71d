"""A hold's offer or reminder whose hold ended before it went out: never sent.

Such a message may wait in the outbox for a while (Telegram away, a backlog, a reader
who can't be reached), and meanwhile the hold may end: released, collected, expired,
its copy passed on to the next reader. Sent then, it would tell a second reader that
one copy is set aside for them. So the claim looks at each such message's hold, in its
own transaction, and marks the message obsolete when the hold is no longer live (ended,
or past its deadline with the expiry loop yet to end it).

Why an ending can't slip past the check: the claim reads the reservations FOR SHARE,
and every ending updates the reservation's row. An ending under way (not committed)
holds that row: the claim skips it (SKIP LOCKED, so a claim never waits for a reader's
press or the expiry loop) and gives the message back, due at once; the next claim sees
the hold ended. An ending that starts after the check waits for the claim's commit: the
message was claimed while the hold was live and is on its way, like one already sent.

A message whose reservation no longer exists (the outbox keeps no foreign key to it)
is obsolete too: only a row that is there can be locked by an ending under way.

Lock order: the claim takes its notifications, then the unreachable readers' rows
(reachability.py), then these reservations without waiting. The endings take the
reader, the book and the reservations, and never touch a notification already written,
so neither ever waits for the other in a cycle. Only the readers' rows are locked
before this check: their messages are failed after it, so an ended hold's message is
obsolete whether or not its reader can be reached.
"""

from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.notifications.models import Notification, NotificationKind, NotificationStatus
from bot.notifications.schemas import Delivery
from bot.reservations.models import PreBooking, ReservationStatus

ABOUT_A_HOLD = (NotificationKind.HOLD_OFFER.value, NotificationKind.HOLD_REMINDER.value)


async def skip_ended_holds(
    session: AsyncSession, claimed: Sequence[Delivery], holds: Mapping[int, int]
) -> tuple[list[Delivery], int]:
    """Of the claimed messages about holds (holds: message id → its reservation), mark
    obsolete those whose hold ended or whose reservation is gone, and give back those
    whose hold is changing right now; return the rest, and how many were given back.
    Runs in the claim's transaction."""
    live = (PreBooking.status == ReservationStatus.ON_HOLD) & (
        PreBooking.hold_expires_at > func.now()
    )
    return await skip_obsolete(session, claimed, holds, live)


async def skip_obsolete(
    session: AsyncSession,
    claimed: Sequence[Delivery],
    about: Mapping[int, int],
    still_wanted: ColumnElement[bool],
) -> tuple[list[Delivery], int]:
    """Of the claimed messages about reservations (about: message id → its reservation),
    mark obsolete those whose reservation no longer meets still_wanted (or is gone), and
    give back those whose reservation is changing right now; return the rest, and how
    many were given back. The rule for holds above; for place updates, stale_places.py."""
    kept = {delivery.id for delivery in claimed}
    holds = {message: held for message, held in about.items() if message in kept}
    if not holds:
        return list(claimed), 0
    rows = await session.execute(
        select(PreBooking.id, still_wanted)
        .where(PreBooking.id.in_(set(holds.values())))
        .with_for_update(read=True, skip_locked=True)
    )
    live = {reservation: bool(is_live) for reservation, is_live in rows}
    # A reservation missing from live is locked by an ending under way, or gone (the
    # outbox has no foreign key to it). A plain read tells them apart without waiting:
    # it sees a locked row as it was.
    missing = set(holds.values()) - live.keys()
    locked = set(
        await session.scalars(select(PreBooking.id).where(PreBooking.id.in_(missing)))
        if missing
        else ()
    )
    busy = [message for message, held in holds.items() if held in locked]
    ended = [
        message
        for message, held in holds.items()
        if held not in locked and not live.get(held, False)
    ]
    # Telegram wasn't asked: the claim was no attempt.
    not_tried = {"attempts": Notification.attempts - 1}
    if ended:
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(ended))
            .values(status=NotificationStatus.OBSOLETE, **not_tried)
        )
    if busy:
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(busy))
            .values(next_attempt_at=func.now(), **not_tried)
        )
    skipped = set(ended) | set(busy)
    return [delivery for delivery in claimed if delivery.id not in skipped], len(busy)
