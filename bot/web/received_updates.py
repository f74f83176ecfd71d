"""Which updates some bot process has already taken in, so that each is handled once.

Telegram retries an update it got no answer for (a timeout, a process gone mid-request),
and behind a load balancer the retry may reach another process: the processes share only
the database, so the record is a table. Telegram gives up on an update after a day, so
a record older than KEEP can't meet its retry any more and is pruned.
"""

import logging
from datetime import timedelta

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.models import ReceivedUpdate

logger = logging.getLogger(__name__)

# Telegram keeps an unconfirmed update for 24 hours; an hour more for clocks and retries.
KEEP = timedelta(hours=25)


class ReceivedUpdates:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def first_time(self, update_id: int) -> bool:
        """Records the update; False when some process recorded it already. With the
        database down the update counts as new: its handler then meets the same outage
        and tells the reader so, as in polling mode, rather than leaving them unanswered."""
        try:
            async with self._sessions.begin() as session:
                recorded = await session.scalar(
                    insert(ReceivedUpdate)
                    .values(update_id=update_id)
                    .on_conflict_do_nothing()
                    .returning(ReceivedUpdate.update_id)
                )
        except (SQLAlchemyError, OSError) as error:
            logger.warning("Could not check update %d for a repeat: %s", update_id, error)
            return True
        return recorded is not None

    async def prune(self) -> int:
        """Forgets updates older than KEEP; returns how many."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ReceivedUpdate).where(ReceivedUpdate.received_at < func.now() - KEEP)
            )
        return int(getattr(result, "rowcount", 0))
