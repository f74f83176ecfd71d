"""The digest's contents, read in one transaction, and /digest: the staff see it now."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demand.ordering import by_suggested_order
from bot.demand.repository import DemandRepository
from bot.demand.service import RECENT_DAYS
from bot.digest.repository import DigestRepository
from bot.digest.schemas import Digest, EndingHold
from bot.special_orders.repository import RequestRepository
from bot.users.admins import Admins

# Holds whose window ends within the next day; messages failed within the last week.
HOLDS_WITHIN = timedelta(days=1)
FAILED_WITHIN = timedelta(days=7)

# What time it is (the line's clock, bot/line/clock.py: a test's can move).
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DigestRules:
    """The shop's rules the digest reads by: its time zone, RESTOCK_POLICY (readers on
    hold count for the order under hold_in_line) and HOLD_RATIO_TARGET."""

    zone: tzinfo = UTC
    hold_in_line: bool = False
    hold_ratio_target: float = 3


async def read_digest(session: AsyncSession, now: datetime, rules: DigestRules) -> Digest:
    """The digest at now: the books to order as /demand suggests them, the open special
    orders, the holds ending within a day and the messages failed within a week."""
    now = now.astimezone(rules.zone)
    _, books = await DemandRepository(session).books_in_demand(
        now - timedelta(days=RECENT_DAYS), rules.hold_in_line
    )
    orders = [
        book
        for book in by_suggested_order(books, rules.hold_ratio_target)
        if book.suggested_order > 0
    ]
    digests = DigestRepository(session)
    holds = await digests.holds_ending(now, now + HOLDS_WITHIN)
    return Digest(
        generated_at=now,
        orders=tuple(orders),
        hold_ratio_target=rules.hold_ratio_target,
        requests=tuple(await RequestRepository(session).open_requests()),
        holds=tuple(in_zone(hold, rules.zone) for hold in holds),
        holds_within=HOLDS_WITHIN,
        failed=tuple(await digests.failed_since(now - FAILED_WITHIN)),
        failed_within=FAILED_WITHIN,
    )


def in_zone(hold: EndingHold, zone: tzinfo) -> EndingHold:
    return replace(hold, until=hold.until.astimezone(zone))


class DigestService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        admins: Admins,
        rules: DigestRules,
        clock: Clock = system_clock,
    ) -> None:
        self._sessions = sessions
        self._admins = admins
        self._rules = rules
        self._clock = clock

    async def digest(self, actor_id: int) -> Digest:
        """The digest as it would go out now (staff only)."""
        self._admins.require(actor_id)
        async with self._sessions.begin() as session:
            return await read_digest(session, self._clock(), self._rules)
