"""A reader's choice about place updates: Stop these updates (or /updates off) turns them
off, /updates on back on."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notifications.stale_places import obsolete_for
from bot.users.repository import UserRepository
from bot.users.schemas import Reader


class UpdatesChoice:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], shop_sends: bool = True
    ) -> None:
        self._sessions = sessions
        self._shop_sends = shop_sends  # LINE_UPDATES

    async def stop(self, reader: Reader) -> None:
        """No more place updates for the reader, in any line; those waiting in the
        outbox are dropped. Their place still shows in /myreservations."""
        async with self._sessions.begin() as session:
            # The messages before the reader's row: the order a claim takes them in.
            await obsolete_for(session, reader.telegram_id)
            await UserRepository(session).set_line_updates(reader.telegram_id, False)

    async def choose(self, reader: Reader, on: bool) -> bool:
        """Place updates on or off for the reader (remembered even while the shop sends
        none); return whether the shop sends them (LINE_UPDATES)."""
        if not on:
            await self.stop(reader)
            return self._shop_sends
        async with self._sessions.begin() as session:
            await UserRepository(session).save(reader)
            await UserRepository(session).set_line_updates(reader.telegram_id, True)
        return self._shop_sends
