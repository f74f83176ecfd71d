"""The one rule of holds: a book's free copies go to the first readers in its line.

Called inside a transaction that holds the book's row lock, after anything that may
free a copy (a restock, a released or expired hold), so that whenever the transaction
commits, a book with free copies has nobody waiting.
"""

from bot.books.schemas import BookView
from bot.holds.policy import HeldCopy, HoldMessages, HoldPolicy
from bot.holds.repository import HoldRepository, LineReader, QueuedMessage
from bot.notifications.models import NotificationKind


async def pass_on_free_copies(
    holds: HoldRepository,
    book: BookView,
    policy: HoldPolicy,
    messages: HoldMessages,
    restock_id: int | None = None,
) -> list[LineReader]:
    """Set the book's free copies aside for the first readers in line, each with their
    message queued; return those readers."""
    free = book.stock_quantity - await holds.on_hold_count(book.id)
    if free <= 0:
        return []
    readers = await holds.first_waiting(book.id, free)
    if not readers:
        return []
    until = await holds.now() + policy.pickup_window
    await holds.hold([reader.reservation_id for reader in readers], until)
    shown_until = until.astimezone(policy.zone)
    await holds.queue(
        [
            QueuedMessage(
                reader.reservation_id,
                reader.chat_id,
                NotificationKind.HOLD_OFFER,
                messages.offer(
                    HeldCopy(reader.reservation_id, book.title, book.author, shown_until)
                ),
                restock_id,
            )
            for reader in readers
        ]
    )
    return readers
