"""What to order next: copies enough for every reader at the shop's hold ratio target."""

import math
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from bot.demand.schemas import BookDemand


def suggested_order(readers: int, copies: int, target: float) -> int:
    """Copies to order so that readers per copy comes down to target: Koha's 14 readers
    for 3 copies at 3 a copy need 5 copies, so 2 more. In decimals, so that 3 readers at
    a target of 0.1 need 30 copies, not 31."""
    needed = math.ceil(Decimal(readers) / Decimal(str(target)))
    return max(0, needed - max(copies, 0))


def by_suggested_order(books: Iterable[BookDemand], target: float) -> list[BookDemand]:
    """The books with their suggested orders, the most copies to order first; books that
    need as many keep their order (the query's: the most readers first)."""
    return sorted(
        (
            replace(
                book,
                suggested_order=suggested_order(book.readers, book.book.stock_quantity, target),
            )
            for book in books
        ),
        key=lambda book: -book.suggested_order,
    )
