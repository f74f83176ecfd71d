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
class Claimed:
    """One claim: the messages to send, and how many due messages it dealt with: those
    to send and those it marked obsolete or failed as unreachable (not those it gave
    back, their hold changing right now)."""

    deliveries: list[Delivery]
    dealt_with: int


@dataclass(frozen=True)
class KindCounts:
    """How the messages of one kind (NotificationKind's value) are doing."""

    kind: str
    sent: int
    pending: int
    failed: int
    obsolete: int = 0  # offers and reminders not sent: the hold had ended


@dataclass(frozen=True)
class DeliveryReport:
    """How the messages about a book since its latest notifying restock are doing: the
    restock's own (back in stock, or copies set aside), and the hold messages queued
    after it (copies passed on, reminders, holds expired), kind by kind."""

    book_id: int
    title: str
    author: str
    restocked_at: datetime | None
    kinds: tuple[KindCounts, ...] = ()
    # The latest event that queued messages was the book's withdrawal (/withdraw), not
    # a restock: restocked_at is its time.
    withdrawal: bool = False
