"""The digest's SQL: the period's row, holds ending soon, failed messages, the staff's
chats, and their messages in the outbox."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import Book
from bot.digest.models import StaffDigest
from bot.digest.schemas import EndingHold, FailedMessages
from bot.notifications.models import Notification, NotificationKind, NotificationStatus
from bot.reservations.models import PreBooking, ReservationStatus
from bot.users.models import User


@dataclass(frozen=True)
class StaffChat:
    """Where a staff member's digest goes, and in which language."""

    telegram_id: int
    chat_id: int
    language: str | None = None  # users.language; None: the default


class DigestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim_period(self, due_at: datetime, recipients: int) -> bool:
        """Write the period's row; False when it was already there (another process, or
        this one before a restart, queued it). A second writer waits for the first's
        commit, then finds the row."""
        written = await self._session.scalar(
            upsert(StaffDigest)
            .values(due_at=due_at, recipients=recipients)
            .on_conflict_do_nothing(index_elements=[StaffDigest.due_at])
            .returning(StaffDigest.due_at)
        )
        return written is not None

    async def holds_ending(self, now: datetime, until: datetime) -> list[EndingHold]:
        """Copies on hold whose window ends between now and until, the soonest first."""
        rows = await self._session.execute(
            select(
                PreBooking.id,
                PreBooking.book_id,
                Book.title,
                Book.author,
                PreBooking.hold_expires_at,
            )
            .join(Book, Book.id == PreBooking.book_id)
            .where(PreBooking.status == ReservationStatus.ON_HOLD)
            .where(PreBooking.hold_expires_at >= now, PreBooking.hold_expires_at < until)
            .order_by(PreBooking.hold_expires_at, PreBooking.id)
        )
        holds = []
        for reservation_id, book_id, title, author, ends in rows:
            assert ends is not None  # a held reservation always has its deadline
            holds.append(EndingHold(reservation_id, book_id, title, author, ends))
        return holds

    async def failed_since(self, since: datetime) -> list[FailedMessages]:
        """Messages given up since then, by kind. A failed row keeps the time it failed
        in next_attempt_at: its last attempt's (due then, failed within its lease), or,
        given up for its age, the moment it was (outbox.py)."""
        unreachable = func.count().filter(Notification.reader_unreachable)
        rows = await self._session.execute(
            select(Notification.kind, func.count(), unreachable)
            .where(Notification.status == NotificationStatus.FAILED)
            .where(Notification.next_attempt_at >= since)
            .group_by(Notification.kind)
            .order_by(func.count().desc(), Notification.kind)
        )
        return [FailedMessages(kind, failed, away) for kind, failed, away in rows]

    async def staff_chats(self, telegram_ids: Collection[int]) -> list[StaffChat]:
        """Each staff member's chat and language: as known from their talks with the bot,
        else their Telegram id (a private chat's id is its user's) and the default."""
        rows = await self._session.execute(
            select(User.telegram_id, User.chat_id, User.language).where(
                User.telegram_id.in_(telegram_ids)
            )
        )
        known = {row.telegram_id: StaffChat(*row) for row in rows}
        return [
            known.get(staff_id, StaffChat(staff_id, staff_id)) for staff_id in sorted(telegram_ids)
        ]

    async def queue(self, texts: Sequence[tuple[int, str]]) -> None:
        """The digest's messages (chat id, text) in the outbox, in this transaction."""
        if texts:
            await self._session.execute(
                insert(Notification),
                [
                    {"chat_id": chat_id, "kind": NotificationKind.DIGEST.value, "text": text}
                    for chat_id, text in texts
                ],
            )
