"""Messages for readers who can't be reached: skipped while they are away, sent when
they come back.

A reader is unreachable from the moment they block the bot (or Telegram refuses a
message to them) until they unblock it or write to it again: users.unreachable_at.
Meanwhile their messages are failed at the claim, Telegram not even asked, flagged
reader_unreachable. When they come back, each flagged back-in-stock message whose book
is still in stock is queued again, and so is the offer of a copy still held for them
(or, when they had the offer, its reminder): the hold's deadline is not moved, a copy
is not kept longer for a reader who was away. A hold that ended meanwhile (expired,
collected) sends nothing: news of a hold they never heard of would only confuse. So
with a withdrawal's notice: queued again while the book is still withdrawn, not once a
restock has made it available again (nor when it is withdrawn anew after that). A
special order's notice: ordered while the reservation it became still waits (or is
paused), declined always (a decline stands).

Why it is sent once: only failed rows are queued again, and a failed row never reached
the reader (a refusal, or no call at all); from pending it is delivered at most once by
the outbox as any other row. The user row is the lock that orders a claim and a
comeback: the claim reads unreachable readers FOR SHARE, the comeback updates the row,
so a message being failed right now is either seen failed by the comeback's requeue or
claimed after it, and sent.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.books.models import Book
from bot.notifications.models import Notification, NotificationKind, NotificationStatus
from bot.notifications.schemas import Delivery
from bot.reservations.models import PreBooking, ReservationStatus
from bot.users.models import User

UNREACHABLE = "unreachable"


async def unreachable_chats(session: AsyncSession, claimed: Sequence[Delivery]) -> set[int]:
    """The chats of the claimed messages whose readers are unreachable, their rows locked
    until the claim commits. Runs in the claim's transaction, on its batch: an index
    lookup per chat."""
    chats = {delivery.chat_id for delivery in claimed}
    if not chats:
        return set()
    return set(
        await session.scalars(
            select(User.chat_id)
            .where(User.chat_id.in_(chats))
            .where(User.unreachable_at.is_not(None))
            .with_for_update(read=True)
        )
    )


async def skip_unreachable(
    session: AsyncSession, claimed: Sequence[Delivery], away: set[int]
) -> list[Delivery]:
    """Fail the claimed messages to the chats away (unreachable_chats); return the
    others."""
    skipped = [delivery.id for delivery in claimed if delivery.chat_id in away]
    if skipped:
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(skipped))
            .values(
                status=NotificationStatus.FAILED,
                last_error=UNREACHABLE,
                reader_unreachable=True,
                # Telegram wasn't asked: the claim was no attempt.
                attempts=Notification.attempts - 1,
            )
        )
    return [delivery for delivery in claimed if delivery.chat_id not in away]


# A missed message queued again, due now. Queued anew: the age limit counts from now, not
# from the restock, or a reader back after days could lose it to the limit before it goes
# out.
QUEUED_ANEW: dict[str, Any] = {
    "status": NotificationStatus.PENDING,
    "next_attempt_at": func.now(),
    "created_at": func.now(),
    "attempts": 0,
    "reader_unreachable": False,
}


async def requeue_missed(session: AsyncSession, user_id: int) -> int:
    """Queue again, due now, the reader's messages failed as unreachable that still
    hold: back in stock while the book is in stock and the reservation notified; a
    hold's offer, or its reminder if the offer reached them, while it is on hold; a
    withdrawal's notice while the book is withdrawn. Return how many."""
    back_in_stock = (
        (Notification.kind == NotificationKind.BACK_IN_STOCK.value)
        & (PreBooking.status == ReservationStatus.NOTIFIED)
        & (Book.stock_quantity > 0)
    )
    offer = aliased(Notification)
    missed_offer = (
        select(offer.id)
        .where(offer.pre_booking_id == Notification.pre_booking_id)
        .where(offer.kind == NotificationKind.HOLD_OFFER.value)
        .where(offer.reader_unreachable)
        .exists()
    )
    still_held = (
        (PreBooking.status == ReservationStatus.ON_HOLD)
        # Past its deadline, a hold is the expiry loop's to end, not ours to offer again.
        & (PreBooking.hold_expires_at > func.now())
    ) & (
        (Notification.kind == NotificationKind.HOLD_OFFER.value)
        # One statement: the offer's flag is read as it was before this update.
        | ((Notification.kind == NotificationKind.HOLD_REMINDER.value) & ~missed_offer)
    )
    # The reservation it cancelled stays cancelled: the book is what may have changed.
    # Withdrawn by the very withdrawal that cancelled it (both stamped with its
    # transaction's now()): once a restock has ended it, a later withdrawal brings its
    # own notice, not this one with a reason no longer the book's.
    still_withdrawn = (Notification.kind == NotificationKind.WITHDRAWN.value) & (
        PreBooking.cancelled_at >= Book.withdrawn_at
    )
    # A special order ordered: news while the reservation it became still waits.
    still_ordered = (Notification.kind == NotificationKind.ORDERED.value) & PreBooking.status.in_(
        (ReservationStatus.WAITING, ReservationStatus.PAUSED)
    )
    requeued = await session.execute(
        update(Notification)
        .where(Notification.pre_booking_id == PreBooking.id)
        .where(PreBooking.user_id == user_id)
        .where(Book.id == PreBooking.book_id)
        .where(back_in_stock | still_held | still_withdrawn | still_ordered)
        .where(Notification.status == NotificationStatus.FAILED)
        .where(Notification.reader_unreachable)
        .values(**QUEUED_ANEW)
        .returning(Notification.id)
    )
    return len(requeued.all()) + await _requeue_declined(session, user_id)


async def _requeue_declined(session: AsyncSession, user_id: int) -> int:
    """A declined special order's notice (about no reservation: found by the reader's
    chat): a decline stands for good, so it always still holds."""
    requeued = await session.execute(
        update(Notification)
        .where(Notification.kind == NotificationKind.DECLINED.value)
        .where(Notification.request_reader_id.is_not(None))
        .where(
            Notification.chat_id
            == select(User.chat_id).where(User.id == user_id).scalar_subquery()
        )
        .where(Notification.status == NotificationStatus.FAILED)
        .where(Notification.reader_unreachable)
        .values(**QUEUED_ANEW)
        .returning(Notification.id)
    )
    return len(requeued.all())
