import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """A claimed notification: what to send to which chat."""

    id: int
    chat_id: int
    text: str
    attempts: int
    claim: uuid.UUID
    reply_markup: dict[str, Any] | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """How the messages of a book's latest notifying restock are doing."""

    book_id: int
    title: str
    author: str
    restocked_at: datetime | None
    sent: int
    pending: int
    failed: int
