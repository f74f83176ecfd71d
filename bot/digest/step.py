"""The line's step that sends the staff their digest (DIGEST_AT): once a period, whatever
the number of processes or restarts, because the database decides. Each pass finds the
latest due moment at or before now; a period queued already (by this process, as it
remembers, or by any, as staff_digests says) or older than GRACE is left alone. Otherwise,
in one transaction, the period's row is written (ON CONFLICT DO NOTHING) and, only if this
process wrote it, one message per staff member is queued in the outbox.

GRACE: a bot down at the due minute sends the digest when it comes back within a day;
later, that period's is skipped (a digest days old would only mislead), and the next
period's goes out as usual."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digest.messages import DigestMessages
from bot.digest.repository import DigestRepository
from bot.digest.service import Clock, DigestRules, read_digest, system_clock
from bot.opening_hours import WeeklyTime
from bot.users.admins import Admins

GRACE = timedelta(days=1)


class DigestStep:
    """The digest's part of the line's loop (run there as "digests", bot/services.py)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
        schedule: WeeklyTime,
        rules: DigestRules,
        messages: DigestMessages,
        clock: Clock = system_clock,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._schedule = schedule
        self._rules = rules
        self._messages = messages
        self._clock = clock
        # The last due moment the database says is done (queued, by this process or
        # another): no query until the next one (once a second, in every process, this
        # step costs a little arithmetic). A period skipped as too late or for want of
        # staff is not: a clock running ahead and set back within the day still sends it.
        self._done: datetime | None = None

    async def send_due(self) -> int:
        """Queue the period's digest if it is due and nobody has: the messages queued."""
        now = self._clock()
        due = self._schedule.latest(now, self._rules.zone)
        if due == self._done:
            return 0
        staff = self._admins.telegram_ids
        if now - due > GRACE or not staff:
            return 0  # arithmetic only: nothing to remember
        async with self._sessions.begin() as session:
            digests = DigestRepository(session)
            if not await digests.claim_period(due, len(staff)):
                self._done = due
                return 0
            digest = await read_digest(session, now, self._rules)
            await digests.queue(
                [
                    (chat.chat_id, self._messages.digest(digest, chat.language))
                    for chat in await digests.staff_chats(staff)
                ]
            )
        self._done = due
        return len(staff)
