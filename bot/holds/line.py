"""The one rule of holds: a book's free copies go to the first readers in its line.

Called inside a transaction that holds the books' row locks, after anything that may
free a copy (a restock, a released or expired hold), so that whenever the transaction
commits, a book with free copies has nobody waiting.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from bot.books.schemas import BookView
from bot.database import zone_name
from bot.holds.policy import HoldPolicy
from bot.holds.repository import HoldRepository, LineReader, QueuedMessage
from bot.notifications.messages import HeldCopy, ReaderMessages
from bot.notifications.models import NotificationKind


async def pass_on_free_copies(
    holds: HoldRepository,
    books: Sequence[BookView],
    policy: HoldPolicy,
    zone: tzinfo,
    messages: ReaderMessages,
    restock_id: int | None = None,
) -> list[LineReader]:
    """Set each book's free copies aside for the first readers in its line, each with
    their message queued; return those readers. A few statements for any number of
    books, so the expiry loop passes on a whole batch at once."""
    until = None
    if policy.hours is not None:
        until = policy.hours.deadline(datetime.now(UTC), policy.pickup_window)
    readers = await holds.hold_first_in_line(
        [book.id for book in books], policy.pickup_window, until, zone_name(zone)
    )
    by_id = {book.id: book for book in books}
    await holds.queue(
        [
            QueuedMessage(
                reader.reservation_id,
                reader.chat_id,
                NotificationKind.HOLD_OFFER,
                messages.hold_offer(
                    HeldCopy(
                        reader.reservation_id,
                        by_id[reader.book_id].title,
                        by_id[reader.book_id].author,
                        reader.until.astimezone(zone),
                        reader.language,
                    )
                ),
                restock_id,
            )
            for reader in readers
        ]
    )
    return readers
