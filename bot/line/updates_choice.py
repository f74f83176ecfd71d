"""A reader's choice about place updates: Stop these updates turns them off."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notifications.stale_places import obsolete_for
from bot.users.repository import UserRepository
from bot.users.schemas import Reader


class UpdatesChoice:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def stop(self, reader: Reader) -> None:
        """No more place updates for the reader, in any line; those waiting in the
        outbox are dropped. Their place still shows in /myreservations."""
        async with self._sessions.begin() as session:
            # The messages before the reader's row: the order a claim takes them in.
            await obsolete_for(session, reader.telegram_id)
            await UserRepository(session).set_line_updates(reader.telegram_id, False)
