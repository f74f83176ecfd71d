"""What the line's use cases share inside their transactions: the reader's page of
reservations (as /myreservations shows it, after a change made from it), and the lock
order on one of their reservations."""

from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.books.expected_wait import HISTORY, expected_day
from bot.books.models import Book
from bot.books.repository import BookRepository
from bot.pagination import PageRequest, page_count
from bot.reservations.repository import ReservationRepository
from bot.reservations.schemas import RequestLine, ReservationPage
from bot.special_orders.repository import RequestRepository

RESERVATIONS_PAGE_SIZE = 5
# The reader's special orders shown above their reservations: the open ones, then the
# latest decided.
REQUESTS_SHOWN = 10


async def reservation_page(
    session: AsyncSession, user_id: int, page: int, zone: tzinfo
) -> ReservationPage:
    """The reader's reservations, newest first, one page of them, times in the shop's zone."""
    request = PageRequest(page, RESERVATIONS_PAGE_SIZE)
    items, total, request = await ReservationRepository(session).page_for_user(user_id, request)
    # One query for the restock histories of all the page's waiting books.
    now = datetime.now(UTC)
    waiting = {item.book_id for item in items if item.place_in_line}
    histories = await BookRepository(session).restock_histories(sorted(waiting), now - HISTORY)
    items = [
        replace(
            item,
            expected_on=expected_day(histories[item.book_id], item.place_in_line, now, zone),
        )
        if item.place_in_line
        else item
        for item in items
    ]
    requests: tuple[RequestLine, ...] = ()
    if request.number == 1:
        # Asked when, as the reservations' times: in the shop's time zone.
        requests = tuple(
            replace(line, asked_at=line.asked_at.astimezone(zone))
            for line in await RequestRepository(session).readers_requests(user_id, REQUESTS_SHOWN)
        )
    return ReservationPage(
        tuple(item.in_zone(zone) for item in items),
        request.number,
        page_count(total, request.size),
        total,
        requests,
    )


async def locked_book_of(session: AsyncSession, user_id: int, reservation_id: int) -> Book | None:
    """The book of the reader's reservation, locked before the reservation is: the
    order in which restocks and the line's loop take them, so none deadlocks."""
    found = await ReservationRepository(session).get_for_user(user_id, reservation_id)
    if found is None:
        return None
    return await BookRepository(session).get(found.book_id, lock="update")
