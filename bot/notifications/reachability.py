"""Messages for readers who can't be reached: skipped while they are away, sent when
they come back.

A reader is unreachable from the moment they block the bot (or Telegram refuses a
message to them) until they unblock it or write to it again: users.unreachable_at.
Meanwhile their messages are failed at the claim, Telegram not even asked, flagged
reader_unreachable. When they come back, each flagged message whose book is still in
stock is queued again.

Why it is sent once: only failed rows are queued again, and a failed row never reached
the reader (a refusal, or no call at all); from pending it is delivered at most once by
the outbox as any other row. The user row is the lock that orders a claim and a
comeback: the claim reads unreachable readers FOR SHARE, the comeback updates the row,
so a message being failed right now is either seen failed by the comeback's requeue or
claimed after it, and sent.
"""

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import Book
from bot.notifications.models import Notification, NotificationStatus
from bot.notifications.schemas import Delivery
from bot.reservations.models import PreBooking, ReservationStatus
from bot.users.models import User

UNREACHABLE = "unreachable"


async def skip_unreachable(session: AsyncSession, claimed: Sequence[Delivery]) -> list[Delivery]:
    """Fail the claimed messages whose readers are unreachable; return the others.

    Runs in the claim's transaction, on its batch: an index lookup per chat."""
    chats = {delivery.chat_id for delivery in claimed}
    if not chats:
        return list(claimed)
    away = set(
        await session.scalars(
            select(User.chat_id)
            .where(User.chat_id.in_(chats))
            .where(User.unreachable_at.is_not(None))
            .with_for_update(read=True)
        )
    )
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


async def requeue_missed(session: AsyncSession, user_id: int) -> int:
    """Queue again, due now, the reader's messages failed as unreachable whose book is
    in stock and whose reservation is still notified; return how many."""
    requeued = await session.execute(
        update(Notification)
        .where(Notification.pre_booking_id == PreBooking.id)
        .where(PreBooking.user_id == user_id)
        .where(PreBooking.status == ReservationStatus.NOTIFIED)
        .where(Book.id == PreBooking.book_id)
        .where(Book.stock_quantity > 0)
        .where(Notification.status == NotificationStatus.FAILED)
        .where(Notification.reader_unreachable)
        .values(
            status=NotificationStatus.PENDING,
            next_attempt_at=func.now(),
            # Queued anew: the age limit counts from now, not from the restock, or a
            # reader back after days could lose it to the limit before it goes out.
            created_at=func.now(),
            attempts=0,
            reader_unreachable=False,
        )
        .returning(Notification.id)
    )
    return len(requeued.all())
