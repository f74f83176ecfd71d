"""The special orders' queries."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.special_orders.models import BookRequest, RequestReader, RequestStatus
from bot.special_orders.schemas import OpenRequest


class RequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open_requests(self, limit: int | None = None) -> list[OpenRequest]:
        """Open requests with at least one reader still asking, the most readers first,
        then the oldest."""
        readers = func.count(RequestReader.id)
        statement = (
            select(
                BookRequest.id,
                BookRequest.title,
                BookRequest.author,
                BookRequest.isbn,
                readers,
                BookRequest.created_at,
            )
            .join(RequestReader, RequestReader.request_id == BookRequest.id)
            .where(BookRequest.status == RequestStatus.OPEN.value)
            .where(RequestReader.withdrawn_at.is_(None))
            .group_by(BookRequest.id)
            .order_by(readers.desc(), BookRequest.id)
            .limit(limit)
        )
        rows = await self._session.execute(statement)
        return [OpenRequest(*row) for row in rows]
