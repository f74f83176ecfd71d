"""The demand report's one query: every book readers want, or lately wanted."""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import Book
from bot.books.schemas import BookView
from bot.demand.schemas import BookDemand
from bot.reservations.models import PreBooking, ReservationStatus

WAITING = PreBooking.status == ReservationStatus.WAITING
ON_HOLD = PreBooking.status == ReservationStatus.ON_HOLD
PAUSED = PreBooking.status == ReservationStatus.PAUSED


def recent_outcomes(since: datetime, hold_in_line: bool) -> dict[str, ColumnElement[bool]]:
    """What became of reservations since then, by name: the report, its table and its CSV
    follow this dict. Under hold_in_line a hold ends collected, released (cancelled once
    a copy was set aside: it keeps its deadline) or expired, after it was set aside."""
    # A reader's own cancel: a withdrawal's (cancel_reason set) is the shop's, not theirs.
    by_reader = PreBooking.cancel_reason.is_(None)
    # Readers whose date passed (/needed until) no longer want the book: an outcome too.
    lapsed = PreBooking.lapsed_at >= since
    if not hold_in_line:
        return {
            "told": PreBooking.notified_at >= since,
            "cancelled": and_(PreBooking.cancelled_at >= since, by_reader),
            "lapsed": lapsed,
        }
    was_held = PreBooking.hold_expires_at.is_not(None)
    return {
        "set_aside": PreBooking.notified_at >= since,
        "collected": PreBooking.collected_at >= since,
        "released": and_(PreBooking.cancelled_at >= since, was_held),
        "expired": PreBooking.expired_at >= since,
        "cancelled": and_(PreBooking.cancelled_at >= since, ~was_held, by_reader),
        "lapsed": lapsed,
    }


class DemandRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def books_in_demand(
        self, since: datetime, hold_in_line: bool = False
    ) -> tuple[tuple[str, ...], list[BookDemand]]:
        """Every book with readers waiting, paused or on hold or a recent outcome, most
        readers wanting it first (waiting and paused together: a paused reader still wants
        the book, and staff order for them; then most waiting, most on hold, the longest
        wait): one pass over the reservations that matter."""
        outcomes = recent_outcomes(since, hold_in_line)
        waiting = func.count().filter(WAITING)
        oldest = func.min(PreBooking.created_at).filter(WAITING)
        # Copies on hold only under hold_in_line: under notify_all the query stays as it was.
        held = func.count().filter(ON_HOLD) if hold_in_line else literal(0)
        paused = func.count().filter(PAUSED)
        live = or_(WAITING, PAUSED, ON_HOLD) if hold_in_line else or_(WAITING, PAUSED)
        counted = (
            select(
                PreBooking.book_id,
                waiting.label("waiting"),
                held.label("on_hold"),
                paused.label("paused"),
                oldest.label("oldest"),
                *[
                    func.count().filter(condition).label(name)
                    for name, condition in outcomes.items()
                ],
            )
            .where(or_(live, *outcomes.values()))
            .group_by(PreBooking.book_id)
            .subquery()
        )
        # Under hold_in_line, the median time from set aside (notified_at, stamped when the
        # copy is set aside) to collected, of the holds collected since then; under
        # notify_all nothing is collected. In a query of its own: an ordered-set aggregate
        # in the one above would make it sort every reservation by book (bench/demand.py).
        # The collection rate needs no more: it is of the outcomes' counts.
        to_collect = (
            select(
                PreBooking.book_id,
                func.percentile_cont(0.5)
                .within_group(PreBooking.collected_at - PreBooking.notified_at)
                .label("to_collect"),
            )
            .where(PreBooking.collected_at >= since)
            .group_by(PreBooking.book_id)
            .subquery()
        )
        median = to_collect.c.to_collect if hold_in_line else literal(None).label("to_collect")
        joined = select(
            Book.id, Book.title, Book.author, Book.stock_quantity, Book.isbn, counted, median
        ).join(counted, counted.c.book_id == Book.id)
        if hold_in_line:
            joined = joined.outerjoin(to_collect, to_collect.c.book_id == Book.id)
        rows = await self._session.execute(
            joined.order_by(
                (counted.c.waiting + counted.c.paused).desc(),
                counted.c.waiting.desc(),
                counted.c.on_hold.desc(),
                counted.c.oldest,
                Book.id,
            )
        )
        return tuple(outcomes), [book_demand(row, tuple(outcomes)) for row in rows]


def book_demand(row: Row[Any], outcomes: tuple[str, ...]) -> BookDemand:
    """One row of the query; the holds ended are those collected, released or expired
    (under notify_all none of these is counted)."""
    recent = {name: int(getattr(row, name)) for name in outcomes}
    return BookDemand(
        BookView(row.id, row.title, row.author, row.stock_quantity, isbn=row.isbn),
        row.waiting,
        row.oldest,
        tuple(recent.values()),
        row.on_hold,
        row.paused,
        holds_ended=sum(recent.get(name, 0) for name in ("collected", "released", "expired")),
        collected=recent.get("collected", 0),
        median_to_collect=row.to_collect,
    )
