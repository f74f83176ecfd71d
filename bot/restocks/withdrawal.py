"""The withdrawal use case: staff withdraw a book (out of print, cancelled by the
publisher), its whole line is cancelled and told why, and no one may join it until a
restock brings copies (bot/restocks/service.py). Beside the restock, as its opposite:
it sits above books (the book's state), reservations (the line) and notifications (the
readers told), so that none of them needs to know the others' part."""

from dataclasses import replace
from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books import rules
from bot.books.errors import AlreadyWithdrawn
from bot.books.repository import BookRepository, book_view
from bot.holds.repository import HoldRepository
from bot.i18n import languages
from bot.notifications.messages import ReaderMessages
from bot.notifications.repository import NotificationRepository
from bot.restocks.schemas import Withdrawal
from bot.users.admins import Admins


class WithdrawalService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
        messages: ReaderMessages,
        zone: tzinfo,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._messages = messages
        self._zone = zone  # the shop's (TIMEZONE): a refusal's time is shown in it

    async def withdraw(self, actor_id: int, book_id: int, reason: str) -> Withdrawal:
        """Withdraw a book (staff only) for the reason given: every waiting and paused
        reservation of it is cancelled with the reason and its reader told, in their
        language, through the outbox; copies on hold stay with their readers until
        collected or expired. One transaction. A book already withdrawn is refused,
        changing nothing: its readers were told one reason, the card keeps showing it."""
        self._admins.require(actor_id)
        reason = rules.checked_withdrawal_reason(reason)
        async with self._sessions.begin() as session:
            books = BookRepository(session)
            # FOR UPDATE, as a restock: orders us against reserves (FOR NO KEY UPDATE),
            # cancels, pauses and the hold loop, which all lock the book first; a reader
            # joins the line before us (and is cancelled here) or is refused after.
            book = await books.get_existing(book_id, lock="update")
            if book.withdrawn_at is not None:
                raise AlreadyWithdrawn(book_view(book), book.withdrawn_at.astimezone(self._zone))
            # Rendered once per language, however many readers (restocks do the same).
            shown = replace(book_view(book), withdrawn_reason=reason)
            messages = languages.in_each_language(lambda: self._messages.withdrawn(shown))
            entry = await books.withdraw(book, reason, actor_id, messages[languages.DEFAULT])
            cancelled = await NotificationRepository(session).notify_withdrawn(
                book.id, entry, reason, messages
            )
            # Nobody is left in the line to hear of a better place: no mark_line_moved.
            on_hold = await HoldRepository(session).on_hold_count(book.id)
            return Withdrawal(book_view(book), cancelled, on_hold)
