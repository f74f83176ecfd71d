"""The SQL of a restock: telling a book's whole line (notify_all), or changing the stock
of a book whose copies may be held (hold_in_line); and of a withdrawal, which cancels a
book's whole line and tells each reader why."""

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    Text,
    case,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import languages
from bot.notifications.models import Notification, NotificationKind
from bot.reservations.models import PreBooking, ReservationStatus
from bot.users.models import User


@dataclass(frozen=True)
class LineStockChange:
    """What the stock change of a hold_in_line restock found and did."""

    copies_on_hold: int
    waiting: int  # counted up to the limit asked for
    restock_id: int | None  # None: refused, the stock would be below the holds


class RestockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def notify_waiting(
        self, book_id: int, restock_id: int, messages: Mapping[str, str]
    ) -> int:
        """Mark every waiting reservation of the book notified and queue each reader's
        message, in their language (messages by language), in the outbox: one
        statement, so both happen or neither does; return how many. The default
        language's text is on the restock (restocks.message); the rows of readers of
        that language point to it (their text is NULL), the others carry their own."""
        notified = (
            update(PreBooking)
            .where(PreBooking.book_id == book_id)
            .where(PreBooking.status == ReservationStatus.WAITING)
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
                    in_their_language(notified.c.language, messages),
                ),
            )
            .returning(Notification.id)
            .cte("queued")
        )
        # Only the count comes back: 100,000 rows through the driver cost a quarter
        # of the restock (docs/benchmarks.md).
        count = await self._session.scalar(select(func.count()).select_from(queued))
        return int(count or 0)

    async def cancel_line(
        self, book_id: int, restock_id: int, reason: str, messages: Mapping[str, str]
    ) -> int:
        """Cancel every waiting and paused reservation of the book with the reason, and
        queue each reader the withdrawal notice in their language (messages by language,
        the default one's stored once on the withdrawal's log entry, restock_id): one
        statement, as notify_waiting; return how many."""
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

    async def change_line_stock(
        self, book_id: int, old_stock: int, quantity: int, admin_telegram_id: int, up_to: int
    ) -> LineStockChange:
        """Count the book's copies on hold and its line (up to up_to), and set its stock
        and log it unless that would leave fewer copies than holds: one statement, run
        after the book's row lock, so it counts what that lock froze."""
        row = (
            await self._session.execute(
                LINE_STOCK_CHANGE,
                {
                    "book_id": book_id,
                    "old_stock": old_stock,
                    "quantity": quantity,
                    "admin": admin_telegram_id,
                    "up_to": up_to,
                },
            )
        ).one()
        return LineStockChange(row.copies, row.readers, row.restock_id)


def in_their_language(
    language: ColumnElement[str | None], messages: Mapping[str, str]
) -> ColumnElement[str | None]:
    """An outbox row's own text for a reader of that language; NULL for the default
    language's readers, whose text is the log entry's (restocks.message)."""
    return case(
        {
            code: literal(text, Text)
            for code, text in messages.items()
            if code != languages.DEFAULT
        },
        value=language,
        else_=null(),
    )


# Each part reads through its partial index (the holds of a book, the line in order).
LINE_STOCK_CHANGE = text(
    """WITH held AS (
           SELECT count(*) AS copies FROM pre_bookings
           WHERE book_id = :book_id AND status = 'on_hold'),
       line AS (
           SELECT count(*) AS readers FROM (
               SELECT 1 FROM pre_bookings
               WHERE book_id = :book_id AND status = 'waiting'
               ORDER BY id LIMIT :up_to) AS counted),
       changed AS (
           UPDATE books SET stock_quantity = :quantity, updated_at = now()
           FROM held
           WHERE books.id = :book_id AND held.copies <= :quantity
           RETURNING books.id),
       logged AS (
           INSERT INTO restocks (book_id, old_stock, new_stock, admin_telegram_id)
           SELECT id, :old_stock, :quantity, :admin FROM changed
           RETURNING id)
       SELECT held.copies, line.readers, (SELECT id FROM logged) AS restock_id
       FROM held, line"""
)
