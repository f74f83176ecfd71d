from collections.abc import Mapping

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    String,
    Text,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import RestockEvent
from bot.i18n import languages
from bot.notifications.models import Notification, NotificationKind, NotificationStatus
from bot.reservations.models import PreBooking, ReservationStatus
from bot.users.models import User


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

    async def notify_waiting(
        self, book_id: int, restock_id: int | None, messages: Mapping[str, str], zone: str
    ) -> int:
        """Mark every waiting reservation of the book notified and queue each reader's
        message, in their language (messages by language), in the outbox: one
        statement, so both happen or neither does; return how many. The default
        language's text is on the restock (restocks.message); the rows of readers of
        that language point to it (their text is NULL), the others carry their own;
        with no restock (restock_id None), every row carries its text. A reader whose
        day (needed_until) is over in the shop's zone is passed over, as hold_in_line
        passes them: the line's loop lapses them."""
        today = cast(func.timezone(zone, func.now()), Date)
        notified = (
            update(PreBooking)
            .where(PreBooking.book_id == book_id)
            .where(PreBooking.status == ReservationStatus.WAITING)
            .where(or_(PreBooking.needed_until.is_(None), PreBooking.needed_until >= today))
            .where(PreBooking.user_id == User.id)
            .values(status=ReservationStatus.NOTIFIED, notified_at=func.now())
            .returning(PreBooking.id, User.chat_id, User.language)
            .cte("notified")
        )
        queued = (
            insert(Notification)
            .from_select(
                ["restock_id", "pre_booking_id", "chat_id", "text"],
                select(
                    literal(restock_id, BigInteger),
                    notified.c.id,
                    notified.c.chat_id,
                    in_their_language(notified.c.language, messages, restock_id is not None),
                ),
            )
            .returning(Notification.id)
            .cte("queued")
        )
        # Only the count comes back: 100,000 rows through the driver cost a quarter
        # of the restock (docs/benchmarks.md).
        count = await self._session.scalar(select(func.count()).select_from(queued))
        return int(count or 0)

    async def notify_withdrawn(
        self, book_id: int, restock_id: int, reason: str, messages: Mapping[str, str]
    ) -> int:
        """Cancel every waiting and paused reservation of the book with the reason (a
        withdrawal), and queue each reader the notice in their language (messages by
        language; the default one's is on the withdrawal's entry in the stock log,
        restock_id): one statement, as notify_waiting; return how many."""
        cancelled = (
            update(PreBooking)
            .where(PreBooking.book_id == book_id)
            # Two arms, so that each reads its partial index (the line, the paused).
            .where(
                or_(
                    PreBooking.status == ReservationStatus.WAITING,
                    PreBooking.status == ReservationStatus.PAUSED,
                )
            )
            .where(PreBooking.user_id == User.id)
            .values(
                status=ReservationStatus.CANCELLED,
                cancelled_at=func.now(),
                cancel_reason=reason,
            )
            .returning(PreBooking.id, User.chat_id, User.language)
            .cte("cancelled")
        )
        queued = (
            insert(Notification)
            .from_select(
                ["restock_id", "pre_booking_id", "chat_id", "kind", "text"],
                select(
                    literal(restock_id, BigInteger),
                    cancelled.c.id,
                    cancelled.c.chat_id,
                    literal(NotificationKind.WITHDRAWN.value, String),
                    in_their_language(cancelled.c.language, messages),
                ),
            )
            .returning(Notification.id)
            .cte("queued")
        )
        count = await self._session.scalar(select(func.count()).select_from(queued))
        return int(count or 0)


def in_their_language(
    language: ColumnElement[str | None], messages: Mapping[str, str], stored_once: bool = True
) -> ColumnElement[str | None]:
    """An outbox row's own text for a reader of that language. The default language's
    readers get NULL when their text is stored once, on the restock (restocks.message),
    else the text itself."""
    return case(
        {
            code: literal(text, Text)
            for code, text in messages.items()
            if code != languages.DEFAULT
        },
        value=language,
        else_=null() if stored_once else literal(messages[languages.DEFAULT], Text),
    )
