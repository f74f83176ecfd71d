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
    # The book was withdrawn, and this restock, bringing copies, made it available again.
    reinstated: bool = False


@dataclass(frozen=True)
class Withdrawal:
    """A book withdrawn by staff: its line cancelled, each of those readers told (one
    message each, queued in the same commit), its copies on hold left to their readers."""

    book: BookView  # with its withdrawn_reason
    cancelled: int
    on_hold: int
