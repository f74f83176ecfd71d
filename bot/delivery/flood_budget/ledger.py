"""One flood budget for every process of the bot, kept in PostgreSQL.

Telegram counts a bot's messages per token, not per process. Each message a process
is about to send is booked in the message_slots ledger by take_message_slot()
(migration 0007), one booking at a time under an advisory lock, against the messages
of every process: one interval apart (the rate), never more in any one second than
Telegram allows, and one message a second to any one chat. A reply books the first slot
it may have, ahead if need be; a broadcast message only a slot free now, so replies,
wherever they are sent from, come first.

A booking is one statement on a connection of the ledger's own (the pool's checkout,
pre-ping and isolation switch cost ten times the statement). If the database doesn't
answer, a process falls back to its own pacer alone for replies rather than stop
replying, while broadcasts wait for the ledger.
"""

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from asyncpg.prepared_stmt import PreparedStatement

from bot.delivery.flood_limits import PER_CHAT_INTERVAL, TELEGRAM_PER_SECOND

logger = logging.getLogger(__name__)

TAKE = "SELECT slot_id, wait, chat_busy FROM take_message_slot($1, $2, $3, $4, $5)"
DONE = (
    "UPDATE message_slots SET done_at = clock_timestamp() + make_interval(secs => $2)"
    " WHERE id = $1"
)
# A message whose request timed out may still reach Telegram a moment later (a request
# stuck on its way): it counts as sent until this long after the timeout. Kept short, as
# until then it holds a place in the bot's second and its chat stays busy.
TIMED_OUT_HOLD_SECONDS = 5.0
# Let go of a connection that stopped answering, and don't hold a reply longer.
STATEMENT_TIMEOUT_SECONDS = 2.0
# How soon a broadcast looks again when the ledger did not answer.
UNAVAILABLE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Booking:
    """A slot granted (send after wait seconds) or, for a broadcast, refused (look again
    after wait seconds; chat_busy: the chat has had a message within the second)."""

    granted: bool
    wait: float
    chat_busy: bool = False
    slot_id: int | None = None  # None: the ledger was unavailable


class SharedFloodBudget:
    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection]], messages_per_second: float
    ) -> None:
        self._connect = connect
        self._connection: asyncpg.Connection | None = None
        self._prepared: dict[str, PreparedStatement] = {}
        self._using = asyncio.Lock()
        self._gap = 1 / messages_per_second
        # The spacing keeps to the rate, and so does the window: a message in flight counts
        # from when it was booked, so a reply booked a second ahead could share Telegram's
        # second with messages that arrive late; one message of margin covers it.
        self._per_window = min(math.floor(messages_per_second), TELEGRAM_PER_SECOND)
        self._marking: set[asyncio.Task[None]] = set()

    async def book_reply(self, chat_id: int | None) -> Booking:
        """The first slot a reply to this chat may have (always granted; maybe ahead)."""
        return await self._take(chat_id, reply=True)

    async def book_broadcast(self, chat_id: int) -> Booking:
        """A slot free now for a broadcast message, or when to look again."""
        return await self._take(chat_id, reply=False)

    def done(self, slot_id: int, answered: bool = True) -> None:
        """Telegram answered (or the request timed out): the message counts from now (or
        a little longer), not for as long as a message in flight."""
        hold = 0.0 if answered else TIMED_OUT_HOLD_SECONDS
        task = asyncio.create_task(self._mark_done(slot_id, hold))
        self._marking.add(task)
        task.add_done_callback(self._marking.discard)

    async def close(self) -> None:
        await asyncio.gather(*self._marking, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _take(self, chat_id: int | None, reply: bool) -> Booking:
        # A chat id of 0 stands for "no chat" (an inline message): no per-chat spacing.
        chat_gap = PER_CHAT_INTERVAL if chat_id else 0.0
        arguments = (chat_id or 0, reply, self._gap, self._per_window, chat_gap)
        try:
            row = await self._run(TAKE, *arguments)
        except Exception:
            if not reply:
                # A broadcast can wait: sent unbooked, it would take slots the other
                # processes count as free (a 429), so it looks again in a while.
                logger.warning("The shared flood budget is unavailable; the broadcast waits")
                return Booking(False, UNAVAILABLE_RETRY_SECONDS)
            logger.warning("The shared flood budget is unavailable; pacing this reply alone")
            return Booking(True, 0.0)
        return Booking(
            row["slot_id"] is not None, max(0.0, row["wait"]), row["chat_busy"], row["slot_id"]
        )

    async def _mark_done(self, slot_id: int, hold: float) -> None:
        try:
            await self._run(DONE, slot_id, hold)
        except Exception:
            # The slot then counts as in flight until the ledger forgets it (20 s after).
            logger.warning("Could not mark a message slot done")

    async def _run(self, query: str, *arguments: Any) -> Any:
        async with self._using:
            try:
                async with asyncio.timeout(STATEMENT_TIMEOUT_SECONDS):
                    if self._connection is None or self._connection.is_closed():
                        self._connection = await self._connect()
                        self._prepared = {}
                    # Prepared once per connection: the bot's statements are unnamed (for
                    # PgBouncer, bot/database_url.py), and a prepared one is parsed again
                    # in the round trip that runs it, where a bare query costs two.
                    if query not in self._prepared:
                        self._prepared[query] = await self._connection.prepare(query)
                    return await self._prepared[query].fetchrow(*arguments)
            except Exception:
                # Start afresh next time: the server may have restarted.
                connection, self._connection = self._connection, None
                if connection is not None:
                    connection.terminate()
                raise
