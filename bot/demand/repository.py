"""The demand report's one query: every book readers want, or lately wanted."""

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.models import Book
from bot.books.schemas import BookView
from bot.demand.schemas import BookDemand
from bot.reservations.models import PreBooking, ReservationStatus

WAITING = PreBooking.status == ReservationStatus.WAITING


def recent_outcomes(since: datetime) -> dict[str, ColumnElement[bool]]:
    """What became of reservations since then, by name: a new outcome (a hold collected,
    expired) is one more entry, and the report, its table and its CSV follow."""
    return {
        "told": PreBooking.notified_at >= since,
        "cancelled": PreBooking.cancelled_at >= since,
    }


class DemandRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def books_in_demand(self, since: datetime) -> tuple[tuple[str, ...], list[BookDemand]]:
        """Every book with readers waiting or a recent outcome, most readers waiting first
        (then the longest wait): one pass over the reservations that matter."""
        outcomes = recent_outcomes(since)
        waiting = func.count().filter(WAITING)
        oldest = func.min(PreBooking.created_at).filter(WAITING)
        counted = (
            select(
                PreBooking.book_id,
                waiting.label("waiting"),
                oldest.label("oldest"),
                *[
                    func.count().filter(condition).label(name)
                    for name, condition in outcomes.items()
                ],
            )
            .where(or_(WAITING, *outcomes.values()))
            .group_by(PreBooking.book_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(Book.id, Book.title, Book.author, Book.stock_quantity, counted)
            .join(counted, counted.c.book_id == Book.id)
            .order_by(counted.c.waiting.desc(), counted.c.oldest, Book.id)
        )
        return tuple(outcomes), [
            BookDemand(
                BookView(row.id, row.title, row.author, row.stock_quantity),
                row.waiting,
                row.oldest,
                tuple(int(getattr(row, name)) for name in outcomes),
            )
            for row in rows
        ]
