from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OpenRequest:
    """An open special order as staff see it: /requests, /demand and the digest."""

    id: int
    title: str
    author: str | None
    isbn: str | None
    # Readers who asked and have not withdrawn.
    readers: int
    # When the first of them asked.
    created_at: datetime
