"""What to order next: copies enough for every reader at the shop's hold ratio target."""

import math
from decimal import Decimal


def suggested_order(readers: int, copies: int, target: float) -> int:
    """Copies to order so that readers per copy comes down to target: Koha's 14 readers
    for 3 copies at 3 a copy need 5 copies, so 2 more. In decimals, so that 3 readers at
    a target of 0.1 need 30 copies, not 31."""
    needed = math.ceil(Decimal(readers) / Decimal(str(target)))
    return max(0, needed - max(copies, 0))
