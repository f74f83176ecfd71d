"""The rules, through the services, against the real database."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.errors import (
    BookFieldInvalid,
    BookNotFound,
    DuplicateBook,
    MalformedRow,
    QuantityOutOfRange,
    RepeatedInFile,
    SearchTooLong,
)
from bot.books.service import CatalogRow
from bot.reservations.errors import (
    AlreadyWaiting,
    BookInStock,
    NotCancellable,
    ReservationNotFound,
)
from bot.reservations.models import ReservationStatus
from bot.restocks.schemas import Restock
from bot.services import Services
from bot.users.errors import NotAnAdmin
from bot.users.schemas import Reader
from tests.chat import ADMIN
from tests.db import add_books, failing_trigger, rows, snapshot

ALICE = Reader(1001, 1001, "alice", "Alice")
BOB = Reader(1002, 1002, "bob", "Bob")
CAROL = Reader(1003, 1003, None, "Carol")


async def test_reserve_puts_readers_in_line(services: Services) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    first = await services.reservations.reserve(ALICE, book.id)
    second = await services.reservations.reserve(BOB, book.id)
    assert (first.queue_position, second.queue_position) == (1, 2)
    assert second.book.title == "Dune"


async def test_reserve_refusals(services: Services) -> None:
    sold_out, in_stock = await add_books(
        services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 2)
    )
    await services.reservations.reserve(ALICE, sold_out.id)
    with pytest.raises(BookNotFound):
        await services.reservations.reserve(ALICE, 999)
    with pytest.raises(BookNotFound):
        await services.reservations.reserve(ALICE, 2**63)
    with pytest.raises(BookInStock):
        await services.reservations.reserve(ALICE, in_stock.id)
    with pytest.raises(AlreadyWaiting):
        await services.reservations.reserve(ALICE, sold_out.id)


async def test_reserve_again_after_cancel(services: Services, engine: AsyncEngine) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    first = await services.reservations.reserve(ALICE, book.id)
    await services.reservations.cancel(ALICE, first.reservation_id)
    again = await services.reservations.reserve(ALICE, book.id)
    assert again.reservation_id != first.reservation_id
    assert await rows(engine, "SELECT status::text FROM pre_bookings ORDER BY id") == [
        ("cancelled",),
        ("waiting",),
    ]


async def test_cancel_keeps_the_row(services: Services, engine: AsyncEngine) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    reservation = await services.reservations.reserve(ALICE, book.id)
    cancellation = await services.reservations.cancel(ALICE, reservation.reservation_id)
    assert cancellation.reservation.status is ReservationStatus.CANCELLED
    assert cancellation.reservation.cancelled_at is not None
    [(status, cancelled_at)] = await rows(
        engine, "SELECT status::text, cancelled_at FROM pre_bookings"
    )
    assert status == "cancelled"
    assert cancelled_at is not None
    with pytest.raises(NotCancellable):
        await services.reservations.cancel(ALICE, reservation.reservation_id)


async def test_another_readers_reservation_looks_nonexistent(
    services: Services, engine: AsyncEngine
) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    alices = await services.reservations.reserve(ALICE, book.id)
    before = await snapshot(engine)
    with pytest.raises(ReservationNotFound) as someone_elses:
        await services.reservations.cancel(BOB, alices.reservation_id)
    with pytest.raises(ReservationNotFound) as nonexistent:
        await services.reservations.cancel(BOB, 424242)
    assert type(someone_elses.value) is type(nonexistent.value)
    after = await snapshot(engine)
    # Bob was registered by his attempt; nothing else changed.
    assert after["pre_bookings"] == before["pre_bookings"]


async def test_list_reservations_newest_first(services: Services) -> None:
    books = await add_books(services, ("A", "Author", 0), ("B", "Author", 0), ("C", "Author", 0))
    for book in books:
        await services.reservations.reserve(ALICE, book.id)
    await services.reservations.reserve(BOB, books[0].id)
    page = await services.reservations.list_reservations(ALICE)
    assert [reservation.title for reservation in page.reservations] == ["C", "B", "A"]
    assert page.total == 3


async def test_restock_from_zero_notifies_only_waiting(
    services: Services, engine: AsyncEngine
) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(ALICE, book.id)
    bobs = await services.reservations.reserve(BOB, book.id)
    await services.reservations.reserve(CAROL, book.id)
    await services.reservations.cancel(BOB, bobs.reservation_id)

    restock = await services.restocks.restock(ADMIN.id, book.id, 3)

    assert (restock.old_stock, restock.new_stock) == (0, 3)
    assert isinstance(restock, Restock)
    assert restock.notified == 2
    assert await rows(
        engine,
        "SELECT u.telegram_id FROM notifications n JOIN pre_bookings p ON p.id = n.pre_booking_id "
        "JOIN users u ON u.id = p.user_id ORDER BY p.id",
    ) == [(ALICE.telegram_id,), (1003,)]
    assert await rows(
        engine,
        "SELECT u.telegram_id, p.status::text, p.notified_at IS NOT NULL "
        "FROM pre_bookings p JOIN users u ON u.id = p.user_id ORDER BY p.id",
    ) == [(1001, "notified", True), (1002, "cancelled", False), (1003, "notified", True)]


@pytest.mark.parametrize(("before", "after"), [(2, 5), (0, 0), (3, 0)])
async def test_restock_without_zero_to_positive_notifies_nobody(
    services: Services, engine: AsyncEngine, before: int, after: int
) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(ALICE, book.id)
    if before:
        # Stock arriving behind the bot's back, so that Alice is still waiting.
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE books SET stock_quantity = :q"), {"q": before})
    restock = await services.restocks.restock(ADMIN.id, book.id, after)
    assert isinstance(restock, Restock)
    assert restock.notified == 0
    assert await rows(engine, "SELECT status::text FROM pre_bookings") == [("waiting",)]
    assert await rows(engine, "SELECT stock_quantity FROM books") == [(after,)]


async def test_restock_refusals_change_nothing(services: Services, engine: AsyncEngine) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(ALICE, book.id)
    before = await snapshot(engine)
    with pytest.raises(NotAnAdmin):
        await services.restocks.restock(ALICE.telegram_id, book.id, 5)
    with pytest.raises(BookNotFound):
        await services.restocks.restock(ADMIN.id, 999, 5)
    for quantity in (-1, 1_000_001):
        with pytest.raises(QuantityOutOfRange):
            await services.restocks.restock(ADMIN.id, book.id, quantity)
    assert await snapshot(engine) == before


async def test_stock_change_rolls_back_when_notifying_fails(
    services: Services, engine: AsyncEngine
) -> None:
    """The stock update and the notify step are one transaction."""
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    await services.reservations.reserve(ALICE, book.id)
    before = await snapshot(engine)
    async with failing_trigger(
        engine, "pre_bookings", "BEFORE UPDATE", "notify step failed", "NEW.status = 'notified'"
    ):
        with pytest.raises(DBAPIError, match="notify step failed"):
            await services.restocks.restock(ADMIN.id, book.id, 4)
    assert await snapshot(engine) == before


async def test_catalog_pages_and_search(services: Services) -> None:
    await add_books(
        services,
        *[(f"Book {n:02}", "Someone", n % 2) for n in range(1, 8)],
        ("100% Pure", "Percy", 0),
        ("Tolstoy's tales", "Leo TOLSTOY", 1),
    )
    first = await services.books.list_books(1)
    assert (first.total, first.page_count, len(first.books)) == (9, 2, 5)
    last = await services.books.list_books(99)
    assert last.number == 2
    assert len(last.books) == 4
    found = await services.books.list_books(1, "  tolstoy ")
    assert [book.title for book in found.books] == ["Tolstoy's tales"]
    assert found.query == "tolstoy"
    # Search matches words: punctuation is no word, so '%' alone matches nothing.
    assert (await services.books.list_books(1, "%")).total == 0
    percent = await services.books.list_books(1, "100%")
    assert [book.title for book in percent.books] == ["100% Pure"]
    with pytest.raises(SearchTooLong):
        await services.books.list_books(1, "x" * 101)


async def test_add_book_rules(services: Services) -> None:
    book = await services.books.add_book(ADMIN.id, "  Dune ", "Frank   Herbert", 0)
    assert (book.title, book.author) == ("Dune", "Frank Herbert")
    with pytest.raises(DuplicateBook):
        await services.books.add_book(ADMIN.id, "DUNE", "frank herbert", 1)
    with pytest.raises(BookFieldInvalid):
        await services.books.add_book(ADMIN.id, "x" * 256, "Someone", 1)
    with pytest.raises(BookFieldInvalid):
        await services.books.add_book(ADMIN.id, "Title", "   ", 1)
    with pytest.raises(NotAnAdmin):
        await services.books.add_book(ALICE.telegram_id, "Emma", "Jane Austen", 1)


async def test_import_reports_rejections_by_line(services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    report = await services.books.import_books(
        [
            CatalogRow(2, ("Emma", "Jane Austen", "3")),
            CatalogRow(3, ("Dune", "Frank Herbert", "1")),
            CatalogRow(4, ("Ulysses", "James Joyce", "-1")),
            CatalogRow(5, ("", "Nobody", "1")),
            CatalogRow(6, ("Too", "many", "fields", "here")),
            CatalogRow(7, ("emma", "jane austen", "1")),
            CatalogRow(8, ("Beloved", "Toni Morrison", "0")),
        ]
    )
    assert report.imported == 2
    assert [(row.line, type(row.error)) for row in report.rejected] == [
        (3, DuplicateBook),
        (4, QuantityOutOfRange),
        (5, BookFieldInvalid),
        (6, MalformedRow),
        (7, RepeatedInFile),
    ]
    titles = [book.title for book in (await services.books.list_books(1)).books]
    assert titles == ["Beloved", "Dune", "Emma"]


async def test_simultaneous_reserves_get_distinct_places(services: Services) -> None:
    [book] = await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = [Reader(2000 + n, 2000 + n) for n in range(12)]
    confirmations = await asyncio.gather(
        *(services.reservations.reserve(reader, book.id) for reader in readers)
    )
    assert sorted(c.queue_position for c in confirmations) == list(range(1, 13))
    # The place told matches the order the reservations were made in.
    by_id = sorted(confirmations, key=lambda c: c.reservation_id)
    assert [c.queue_position for c in by_id] == list(range(1, 13))


async def test_simultaneous_identical_books_are_added_once(
    services: Services, engine: AsyncEngine
) -> None:
    outcomes = await asyncio.gather(
        *(services.books.add_book(ADMIN.id, "Dune", "Frank Herbert", 1) for _ in range(6)),
        return_exceptions=True,
    )
    assert len([o for o in outcomes if not isinstance(o, Exception)]) == 1
    assert all(isinstance(o, DuplicateBook) for o in outcomes if isinstance(o, Exception))
    assert await rows(engine, "SELECT count(*) FROM books") == [(1,)]


async def test_importing_twice_adds_nothing_the_second_time(services: Services) -> None:
    rows_ = [CatalogRow(2, ("Emma", "Jane Austen", "3")), CatalogRow(3, ("Dune", "F. H.", "0"))]
    first = await services.books.import_books(rows_)
    second = await services.books.import_books(rows_)
    assert (first.imported, len(first.rejected)) == (2, 0)
    assert second.imported == 0
    assert [(r.line, type(r.error)) for r in second.rejected] == [
        (2, DuplicateBook),
        (3, DuplicateBook),
    ]
