"""The buyer's view: which books readers are waiting for, and what became of waits lately."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demand.ordering import by_suggested_order
from bot.demand.repository import DemandRepository
from bot.demand.schemas import DemandReport
from bot.special_orders.repository import RequestRepository
from bot.users.admins import Admins

RECENT_DAYS = 30


class DemandService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
        zone: tzinfo = UTC,
        hold_in_line: bool = False,
        hold_ratio_target: float = 3,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._zone = zone  # the shop's (TIMEZONE): the report's times are in it
        self._hold_in_line = hold_in_line  # RESTOCK_POLICY: holds add their columns
        self._hold_ratio_target = hold_ratio_target  # HOLD_RATIO_TARGET: readers per copy

    async def report(self, actor_id: int) -> DemandReport:
        """Every book in demand, the most copies to order first, then the most readers
        waiting; and every open special order, the most readers first (staff only)."""
        self._admins.require(actor_id)
        now = datetime.now(self._zone)
        async with self._sessions.begin() as session:
            outcomes, books = await DemandRepository(session).books_in_demand(
                now - timedelta(days=RECENT_DAYS), self._hold_in_line
            )
            # All of them: the text lists the first, the CSV every one.
            requests = await RequestRepository(session).open_requests()
        target = self._hold_ratio_target
        ordered = by_suggested_order(
            (
                replace(
                    book, oldest_wait=book.oldest_wait and book.oldest_wait.astimezone(self._zone)
                )
                for book in books
            ),
            target,
        )
        return DemandReport(
            tuple(ordered),
            outcomes,
            RECENT_DAYS,
            now,
            self._hold_in_line,
            target,
            tuple(
                replace(request, created_at=request.created_at.astimezone(self._zone))
                for request in requests
            ),
        )
