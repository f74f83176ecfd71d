"""The SQL of a restock: changing the stock of a book whose copies may be held
(hold_in_line). Telling a book's whole line (notify_all) is the outbox's
(NotificationRepository.notify_waiting), as a resumed reservation is told the same way."""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class LineStockChange:
    """What the stock change of a hold_in_line restock found and did."""

    copies_on_hold: int
    waiting: int  # counted up to the limit asked for
    restock_id: int | None  # None: refused, the stock would be below the holds


class RestockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

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
