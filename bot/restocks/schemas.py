from dataclasses import dataclass

from bot.books.schemas import BookView


@dataclass(frozen=True)
class Restock:
    """A stock change under notify_all, and how many waiting readers it notified (only on
    0 → positive), each with a message queued in the outbox in the same commit."""

    book: BookView
    old_stock: int
    new_stock: int
    notified: int
