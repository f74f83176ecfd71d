from dataclasses import dataclass

from bot.books.schemas import BookView


@dataclass(frozen=True)
class Restock:
    """A stock change under notify_all, and how many waiting readers it notified (only
    when free copies, those not on hold, went from none to some), each with a message
    queued in the outbox in the same commit."""

    book: BookView
    old_stock: int
    new_stock: int
    notified: int
