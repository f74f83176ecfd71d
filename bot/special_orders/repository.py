"""The special orders' queries."""

from collections.abc import Mapping
from datetime import date

from sqlalchemy import BigInteger, String, and_, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from bot.notifications.models import Notification, NotificationKind
from bot.notifications.repository import in_their_language
from bot.reservations.models import ACTIVE_STATUSES, PreBooking, ReservationStatus
from bot.reservations.schemas import RequestLine
from bot.special_orders.models import BookRequest, RequestReader, RequestStatus
from bot.special_orders.schemas import AskedFor, OpenRequest
from bot.users.models import User

OPEN = RequestStatus.OPEN.value


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

    async def lock_open(self, match_key: str) -> BookRequest | None:
        """The open request for match_key, its row locked until the transaction ends."""
        return await self._session.scalar(
            select(BookRequest)
            .where(BookRequest.match_key == match_key)
            .where(BookRequest.status == OPEN)
            .with_for_update()
        )

    async def create(self, match_key: str, asked: AskedFor) -> None:
        """A new open request for match_key, unless one was just made: the partial unique
        index lets one through, the other readers asking at once join it."""
        await self._session.execute(
            upsert(BookRequest)
            .values(isbn=asked.isbn, title=asked.title, author=asked.author, match_key=match_key)
            .on_conflict_do_nothing(
                index_elements=[BookRequest.match_key], index_where=text("status = 'open'")
            )
        )

    async def add_reader(self, request_id: int, user_id: int) -> int:
        """The reader joins the request, after those who asked before: their row's id."""
        row_id = await self._session.scalar(
            insert(RequestReader)
            .values(request_id=request_id, user_id=user_id)
            .returning(RequestReader.id)
        )
        assert row_id is not None
        return int(row_id)

    async def find_open(self, match_key: str) -> BookRequest | None:
        return await self._session.scalar(
            select(BookRequest)
            .where(BookRequest.match_key == match_key)
            .where(BookRequest.status == OPEN)
        )

    async def open_count(self, user_id: int | ScalarSelect[int]) -> int:
        """The reader's requests still open and not withdrawn."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(RequestReader)
            .join(BookRequest, BookRequest.id == RequestReader.request_id)
            .where(RequestReader.user_id == user_id)
            .where(RequestReader.withdrawn_at.is_(None))
            .where(BookRequest.status == OPEN)
        )
        return int(count or 0)

    async def open_count_of(self, telegram_id: int) -> int:
        """open_count of the reader with this Telegram id (0 for one not yet known)."""
        user_id = select(User.id).where(User.telegram_id == telegram_id).scalar_subquery()
        return await self.open_count(user_id)

    async def place(self, request_id: int, row_id: int) -> int:
        """1 for the first reader still asking."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(RequestReader)
            .where(RequestReader.request_id == request_id)
            .where(RequestReader.withdrawn_at.is_(None))
            .where(RequestReader.id <= row_id)
        )
        return int(count or 0)

    async def get(self, request_id: int, lock: bool = False) -> BookRequest | None:
        statement = select(BookRequest).where(BookRequest.id == request_id)
        if lock:
            statement = statement.with_for_update()
        return await self._session.scalar(statement)

    async def reserve_readers(
        self, request_id: int, book_id: int, messages: Mapping[str, str]
    ) -> tuple[int, int]:
        """Make every reader still asking a waiting reservation of the book, in the order
        they asked, and queue each their ordered notice in their language; a reader with
        a live reservation of it already keeps that one (linked to their request, not
        told). Set-based: a few statements whatever the number of readers. Return
        (reserved, already waiting)."""
        asking = and_(RequestReader.request_id == request_id, RequestReader.withdrawn_at.is_(None))
        live = (
            select(PreBooking.id)
            .where(PreBooking.user_id == RequestReader.user_id)
            .where(PreBooking.book_id == book_id)
            .where(PreBooking.status.in_(ACTIVE_STATUSES))
            .limit(1)
            .scalar_subquery()
        )
        linked = await self._session.execute(
            update(RequestReader)
            .where(asking)
            .where(live.is_not(None))
            .values(pre_booking_id=live)
            .returning(RequestReader.id)
        )
        already = len(linked.all())
        # Ids are given in the order the rows come: the order the readers asked.
        booked = (
            insert(PreBooking)
            .from_select(
                ["user_id", "book_id"],
                select(RequestReader.user_id, literal(book_id, BigInteger))
                .where(asking)
                .where(RequestReader.pre_booking_id.is_(None))
                .order_by(RequestReader.id),
            )
            .returning(PreBooking.id, PreBooking.user_id)
            .cte("booked")
        )
        tied = (
            update(RequestReader)
            .where(asking)
            .where(RequestReader.user_id == booked.c.user_id)
            .values(pre_booking_id=booked.c.id)
            .returning(RequestReader.id, RequestReader.pre_booking_id, RequestReader.user_id)
            .cte("tied")
        )
        queued = (
            insert(Notification)
            .from_select(
                ["pre_booking_id", "request_reader_id", "chat_id", "kind", "text"],
                select(
                    tied.c.pre_booking_id,
                    tied.c.id,
                    User.chat_id,
                    literal(NotificationKind.ORDERED.value, String),
                    in_their_language(User.language.expression, messages, stored_once=False),
                ).where(User.id == tied.c.user_id),
            )
            .returning(Notification.id)
            .cte("queued")
        )
        reserved = await self._session.scalar(select(func.count()).select_from(queued))
        return int(reserved or 0), already

    async def mark_ordered(
        self, request: BookRequest, book_id: int, expected_on: date | None, actor_id: int
    ) -> None:
        request.status = RequestStatus.ORDERED.value
        request.book_id = book_id
        request.expected_on = expected_on
        request.decided_at = func.now()
        request.decided_by = actor_id
        await self._session.flush()

    async def decline(
        self, request: BookRequest, reason: str, actor_id: int, messages: Mapping[str, str]
    ) -> int:
        """Mark the (locked) request declined for the reason and queue each reader still
        asking the notice in their language; return how many."""
        request.status = RequestStatus.DECLINED.value
        request.decline_reason = reason
        request.decided_at = func.now()
        request.decided_by = actor_id
        await self._session.flush()
        queued = (
            insert(Notification)
            .from_select(
                ["request_reader_id", "chat_id", "kind", "text"],
                select(
                    RequestReader.id,
                    User.chat_id,
                    literal(NotificationKind.DECLINED.value, String),
                    in_their_language(User.language.expression, messages, stored_once=False),
                )
                .join(User, User.id == RequestReader.user_id)
                .where(RequestReader.request_id == request.id)
                .where(RequestReader.withdrawn_at.is_(None)),
            )
            .returning(Notification.id)
            .cte("queued")
        )
        count = await self._session.scalar(select(func.count()).select_from(queued))
        return int(count or 0)

    async def withdraw(self, user_id: int, request_id: int) -> bool:
        """The reader takes back their (open) request; False when they have none there."""
        withdrawn = await self._session.scalar(
            update(RequestReader)
            .where(RequestReader.request_id == request_id)
            .where(RequestReader.user_id == user_id)
            .where(RequestReader.withdrawn_at.is_(None))
            .values(withdrawn_at=func.now())
            .returning(RequestReader.id)
        )
        return withdrawn is not None

    async def asked_by(self, user_id: int, request_id: int) -> bool:
        found = await self._session.scalar(
            select(RequestReader.id)
            .where(RequestReader.request_id == request_id)
            .where(RequestReader.user_id == user_id)
            .where(RequestReader.withdrawn_at.is_(None))
            .limit(1)
        )
        return found is not None

    async def readers_requests(self, user_id: int, limit: int) -> list[RequestLine]:
        """The reader's requests they have not withdrawn, open ones first, then the
        latest decided; newest first within each."""
        rows = await self._session.execute(
            select(
                BookRequest.id,
                BookRequest.title,
                BookRequest.author,
                BookRequest.isbn,
                BookRequest.status,
                RequestReader.created_at,
                RequestReader.pre_booking_id,
                BookRequest.expected_on,
                BookRequest.decline_reason,
            )
            .join(BookRequest, BookRequest.id == RequestReader.request_id)
            .where(RequestReader.user_id == user_id)
            .where(RequestReader.withdrawn_at.is_(None))
            .order_by((BookRequest.status == OPEN).desc(), RequestReader.id.desc())
            .limit(limit)
        )
        return [RequestLine(*row) for row in rows]

    async def free_copies(self, book_id: int, stock: int) -> int:
        """The (locked) book's copies not set aside for a reader."""
        held = await self._session.scalar(
            select(func.count())
            .select_from(PreBooking)
            .where(PreBooking.book_id == book_id)
            .where(PreBooking.status == ReservationStatus.ON_HOLD)
        )
        return stock - int(held or 0)
