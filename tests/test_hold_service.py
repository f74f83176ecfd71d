"""Holds under RESTOCK_POLICY=hold_in_line, through the services: allocation in line
order, release, collection, refusals, and the expiry loop's pass."""

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.holds.errors import NotOnHold, StockBelowHolds
from bot.holds.schemas import LineRestock
from bot.reservations.errors import AlreadyWaiting, BookInStock
from bot.reservations.models import ReservationStatus
from bot.services import Services
from bot.users.errors import NotAnAdmin
from tests.chat import ADMIN
from tests.db import add_books, rows, snapshot
from tests.readers import ALICE, BOB, CAROL, readers

STATUSES = "SELECT id, status::text FROM pre_bookings ORDER BY id"
MESSAGES = "SELECT pre_booking_id, kind FROM notifications ORDER BY id"


async def line_of(services: Services, count: int, stock: int = 0) -> None:
    """Book #1 with count readers waiting for it (reservations #1…#count)."""
    await add_books(services, ("Dune", "Frank Herbert", stock))
    for reader in readers(count):
        await services.reservations.reserve(reader, 1)


async def sweep(services: Services) -> tuple[int, int, int]:
    report = await services.hold_sweeper.sweep()
    return report.expired, report.offered, report.reminded


async def time_passes(engine: AsyncEngine, reservation_id: int, left: timedelta) -> None:
    """The hold of reservation_id now ends `left` from now (negative: it is past)."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET hold_expires_at = now() + :left, "
                "notified_at = now() + :left - interval '2 days' WHERE id = :id"
            ),
            {"left": left, "id": reservation_id},
        )


async def test_restock_sets_copies_aside_for_the_first_in_line(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await line_of(hold_services, 5)
    await hold_services.reservations.cancel(readers(5)[1], 2)

    result = await hold_services.restocks.restock(ADMIN.id, 1, 3)

    assert isinstance(result, LineRestock)
    assert (result.set_aside, result.waiting_before, result.still_waiting) == (3, 4, 1)
    assert await rows(engine, STATUSES) == [
        (1, "on_hold"),
        (2, "cancelled"),
        (3, "on_hold"),
        (4, "on_hold"),
        (5, "waiting"),
    ]
    assert await rows(engine, MESSAGES) == [
        (1, "hold_offer"),
        (3, "hold_offer"),
        (4, "hold_offer"),
    ]
    [(message, markup, window)] = await rows(
        engine,
        "SELECT n.text, n.reply_markup, p.hold_expires_at - p.notified_at "
        "FROM notifications n JOIN pre_bookings p ON p.id = n.pre_booking_id WHERE p.id = 1",
    )
    assert message.startswith("📦 A copy of <b>Dune</b> by Frank Herbert is set aside for you")
    assert message.endswith("Show reservation #1 at the counter.")
    assert markup["inline_keyboard"][0][0]["callback_data"] == "c:1:1"
    assert window == timedelta(days=2)


async def test_restock_while_copies_are_held_adds_holds(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await line_of(hold_services, 6)
    await hold_services.restocks.restock(ADMIN.id, 1, 2)
    result = await hold_services.restocks.restock(ADMIN.id, 1, 5)
    assert isinstance(result, LineRestock)
    assert (result.set_aside, result.waiting_before, result.still_waiting) == (3, 4, 1)
    held = await rows(engine, "SELECT id FROM pre_bookings WHERE status = 'on_hold' ORDER BY id")
    assert held == [(1,), (2,), (3,), (4,), (5,)]


async def test_stock_below_the_holds_is_refused_and_changes_nothing(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await line_of(hold_services, 3)
    await hold_services.restocks.restock(ADMIN.id, 1, 2)
    before = await snapshot(engine)
    with pytest.raises(StockBelowHolds) as refused:
        await hold_services.restocks.restock(ADMIN.id, 1, 1)
    assert [hold.reservation_id for hold in refused.value.holds] == [1, 2]
    assert await snapshot(engine) == before
    await hold_services.restocks.restock(ADMIN.id, 1, 2)  # equal to the holds: allowed


async def test_release_passes_the_copy_on_or_frees_it(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await line_of(hold_services, 2)
    await hold_services.restocks.restock(ADMIN.id, 1, 1)
    first, second = readers(2)

    await hold_services.reservations.cancel(first, 1)
    assert await rows(engine, STATUSES) == [(1, "cancelled"), (2, "on_hold")]
    await hold_services.reservations.cancel(second, 2)
    assert await rows(engine, STATUSES) == [(1, "cancelled"), (2, "cancelled")]
    # Nobody waits: the copy is free, in stock to buy now.
    with pytest.raises(BookInStock):
        await hold_services.reservations.reserve(ALICE, 1)
    assert await rows(engine, MESSAGES) == [(1, "hold_offer"), (2, "hold_offer")]


async def test_all_copies_on_hold_means_joining_the_line(hold_services: Services) -> None:
    await line_of(hold_services, 1)
    await hold_services.restocks.restock(ADMIN.id, 1, 1)
    confirmation = await hold_services.reservations.reserve(ALICE, 1)
    assert confirmation.queue_position == 1
    # A held reader can't reserve the same book again: one live reservation each.
    with pytest.raises(AlreadyWaiting):
        await hold_services.reservations.reserve(readers(1)[0], 1)


async def test_collected_takes_the_copy_out_of_stock(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await line_of(hold_services, 2)
    await hold_services.restocks.restock(ADMIN.id, 1, 1)
    before = await snapshot(engine)
    with pytest.raises(NotAnAdmin):
        await hold_services.holds.collect(ALICE.telegram_id, 1)
    with pytest.raises(NotOnHold) as waiting:
        await hold_services.holds.collect(ADMIN.id, 2)
    assert waiting.value.status is ReservationStatus.WAITING
    for missing in (999, 0, 2**70):
        with pytest.raises(NotOnHold) as unknown:
            await hold_services.holds.collect(ADMIN.id, missing)
        assert unknown.value.status is None
    assert await snapshot(engine) == before

    collection = await hold_services.holds.collect(ADMIN.id, 1)

    assert collection.book.stock_quantity == 0
    assert await rows(engine, STATUSES) == [(1, "collected"), (2, "waiting")]
    with pytest.raises(NotOnHold):
        await hold_services.holds.collect(ADMIN.id, 1)
    report = await hold_services.holds.holds_report(ADMIN.id, 1)
    assert (report.holds, report.free, report.waiting) == ((), 0, 1)


async def test_holds_report_in_shop_time(hold_services: Services) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_services.reservations.reserve(ALICE, 1)
    await hold_services.reservations.reserve(BOB, 1)
    await hold_services.reservations.reserve(CAROL, 1)
    await hold_services.restocks.restock(ADMIN.id, 1, 2)
    report = await hold_services.holds.holds_report(ADMIN.id, 1)
    assert [(hold.reservation_id, hold.username) for hold in report.holds] == [
        (1, "alice"),
        (2, "bob"),
    ]
    assert str(report.holds[0].until.tzinfo) == "Europe/Berlin"
    assert (report.free, report.waiting) == (0, 1)


async def test_expiry_passes_the_copy_on_once(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await line_of(hold_services, 3)
    await hold_services.restocks.restock(ADMIN.id, 1, 1)
    await time_passes(engine, 1, timedelta(seconds=-1))

    assert await sweep(hold_services) == (1, 1, 0)
    assert await sweep(hold_services) == (0, 0, 0)

    assert await rows(engine, STATUSES) == [(1, "expired"), (2, "on_hold"), (3, "waiting")]
    assert await rows(engine, MESSAGES) == [
        (1, "hold_offer"),
        (1, "hold_expired"),
        (2, "hold_offer"),
    ]
    [expired] = await rows(engine, "SELECT text FROM notifications WHERE kind = 'hold_expired'")
    assert "has gone to the next reader" in expired[0]
    # The reader whose hold expired may reserve again, at the end of the line.
    confirmation = await hold_services.reservations.reserve(readers(1)[0], 1)
    assert confirmation.queue_position == 2


async def test_one_reminder_when_the_window_is_nearly_over(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await line_of(hold_services, 2)
    await hold_services.restocks.restock(ADMIN.id, 1, 2)
    assert await sweep(hold_services) == (0, 0, 0)  # two days left: no reminder yet
    await time_passes(engine, 1, timedelta(hours=23))
    assert await sweep(hold_services) == (0, 0, 1)
    assert await sweep(hold_services) == (0, 0, 0)
    # A window shorter than the reminder gets none.
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET notified_at = now(), "
                "hold_expires_at = now() + interval '1 hour' WHERE id = 2"
            )
        )
    assert await sweep(hold_services) == (0, 0, 0)
    assert await rows(
        engine, "SELECT pre_booking_id FROM notifications WHERE kind = 'hold_reminder'"
    ) == [(1,)]


async def test_my_reservations_shows_place_in_line_and_deadline(
    hold_services: Services,
) -> None:
    await line_of(hold_services, 2)
    await hold_services.reservations.reserve(ALICE, 1)
    await hold_services.restocks.restock(ADMIN.id, 1, 1)
    [alices] = (await hold_services.reservations.list_reservations(ALICE)).reservations
    assert (alices.status, alices.place_in_line) == (ReservationStatus.WAITING, 2)
    [held] = (await hold_services.reservations.list_reservations(readers(1)[0])).reservations
    assert held.status is ReservationStatus.ON_HOLD
    assert held.hold_expires_at is not None
    assert str(held.hold_expires_at.tzinfo) == "Europe/Berlin"


def test_hold_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(_env_file=None)
    assert defaults.restock_policy == "notify_all"
    assert (defaults.pickup_window, defaults.pickup_reminder) == (
        timedelta(days=2),
        timedelta(days=1),
    )
    assert str(defaults.shop_zone) == "UTC"
    monkeypatch.setenv("RESTOCK_POLICY", "hold_in_line")
    monkeypatch.setenv("PICKUP_WINDOW", "P3D")
    monkeypatch.setenv("PICKUP_REMINDER", "3600")
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")
    settings = Settings(_env_file=None)
    assert settings.restock_policy == "hold_in_line"
    assert (settings.pickup_window, settings.pickup_reminder) == (
        timedelta(days=3),
        timedelta(hours=1),
    )
    assert str(settings.shop_zone) == "Europe/Berlin"
    for name, value in (
        ("TIMEZONE", "Mars/Olympus"),
        ("TIMEZONE", "../etc/passwd"),
        ("RESTOCK_POLICY", "first_come"),
        ("PICKUP_WINDOW", "0"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name.lower()):
            Settings(_env_file=None)
        monkeypatch.delenv(name)
