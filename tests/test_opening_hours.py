"""OPENING_HOURS and CLOSED_DATES: a hold's pickup window counts only the days the shop
opens, and ends while it is open (the rule: bot/opening_hours.py, docs/operators.md)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.holds.policy import HoldPolicy
from bot.notifications.messages import HeldCopy
from bot.opening_hours import ShopHours
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN
from tests.db import add_books, rows
from tests.readers import readers

BERLIN = ZoneInfo("Europe/Berlin")
# Closed on Sundays and on Christmas Day (a Friday in 2026).
HOURS = ShopHours.parse("Mo-Fr 10:00-19:00; Sa 10:00-16:00", {date(2026, 12, 25)}, BERLIN)


def berlin(day: int, hour: int, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BERLIN)


def test_a_closed_sunday_does_not_use_the_window_up() -> None:
    # Saturday noon + 2 days: Saturday's 12 hours, Sunday skipped, Monday's 24, Tuesday's 12.
    deadline = HOURS.deadline(berlin(5, 12), timedelta(days=2))
    assert deadline == berlin(8, 12)


def test_a_closed_date_does_not_use_the_window_up() -> None:
    # Thursday 24th 15:00 + 1 day: 9 hours of the 24th, Christmas Day skipped, 15 of the 26th.
    assert HOURS.deadline(berlin(24, 15), timedelta(days=1)) == berlin(26, 15)


def test_a_deadline_while_closed_moves_back_to_the_last_closing_time() -> None:
    # Friday 18:00 + 1 day is Saturday 18:00, after Saturday's closing at 16:00.
    assert HOURS.deadline(berlin(4, 18), timedelta(days=1)) == berlin(5, 16)
    # Thursday 19:00 + 1 day: exactly at closing time is that closing time.
    assert HOURS.deadline(berlin(3, 19), timedelta(days=1)) == berlin(4, 19)
    # No open hour between the copy set aside and the end: the next closing time.
    assert HOURS.deadline(berlin(4, 20), timedelta(hours=2)) == berlin(5, 16)


def test_open_means_within_the_hours_and_not_on_a_closed_date() -> None:
    assert HOURS.is_open(berlin(7, 12))
    assert not HOURS.is_open(berlin(7, 20))
    assert not HOURS.is_open(berlin(6, 12))  # a Sunday
    assert not HOURS.is_open(berlin(25, 12))  # Christmas Day
    # CLOSED_DATES alone: open around the clock but on those dates.
    dates_only = ShopHours.parse(None, {date(2026, 12, 25)}, BERLIN)
    assert dates_only.is_open(berlin(6, 3))
    assert not dates_only.is_open(berlin(25, 23))
    assert dates_only.deadline(berlin(24, 12), timedelta(days=1)) == berlin(26, 12)


def test_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(_env_file=None)
    assert (defaults.opening_hours, defaults.closed_dates) == (None, frozenset())
    assert Shop.from_settings(defaults).policy.hours is None
    monkeypatch.setenv("OPENING_HOURS", "Mo-Fr 10:00-19:00; Sa 10:00-16:00")
    monkeypatch.setenv("CLOSED_DATES", " 2026-12-25, 2027-01-01 ,")
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")
    settings = Settings(_env_file=None)
    assert settings.closed_dates == {date(2026, 12, 25), date(2027, 1, 1)}
    hours = Shop.from_settings(settings).policy.hours
    assert hours is not None
    assert not hours.is_open(berlin(25, 12))
    assert hours.deadline(berlin(5, 12), timedelta(days=2)) == berlin(8, 12)


def closed_around_today(opening_hours: str | None = None) -> ShopHours:
    """Closed yesterday, today and tomorrow in Berlin: whenever the test runs, a copy set
    aside now has its window start the day after tomorrow at midnight."""
    today = datetime.now(BERLIN).date()
    return ShopHours.parse(opening_hours, {today + timedelta(days=d) for d in (-1, 0, 1)}, BERLIN)


def shop(hours: ShopHours, window: timedelta = timedelta(hours=1)) -> Shop:
    policy = HoldPolicy(True, window, timedelta(minutes=30), hours)
    return Shop(frozenset({ADMIN.id}), policy, BERLIN)


async def test_a_restock_sets_a_copy_aside_until_the_window_ran_in_open_time(
    engine: AsyncEngine, services: Services
) -> None:
    hold_services = build_services(engine, TelegramMessages(), shop(closed_around_today()))
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    reader = readers(1)[0]
    await hold_services.reservations.reserve(reader, 1)

    await hold_services.restocks.restock(ADMIN.id, 1, 1)

    opens = datetime.now(BERLIN).date() + timedelta(days=2)
    expected = datetime(opens.year, opens.month, opens.day, 1, tzinfo=BERLIN)
    [(until,)] = await rows(engine, "SELECT hold_expires_at FROM pre_bookings")
    assert until == expected
    offer = TelegramMessages().hold_offer(HeldCopy(1, "Dune", "Frank Herbert", expected, "en"))
    assert await rows(engine, "SELECT text FROM notifications WHERE kind = 'hold_offer'") == [
        (offer.text,)
    ]


async def test_a_reminder_due_while_closed_waits_for_the_opening(
    engine: AsyncEngine, services: Services
) -> None:
    closed = build_services(engine, TelegramMessages(), shop(closed_around_today()))
    await add_books(closed, ("Dune", "Frank Herbert", 0))
    await closed.reservations.reserve(readers(1)[0], 1)
    await closed.restocks.restock(ADMIN.id, 1, 1)
    async with engine.begin() as connection:  # the reminder is due: 10 minutes left
        await connection.exec_driver_sql(
            "UPDATE pre_bookings SET hold_expires_at = now() + interval '10 minutes', "
            "notified_at = now() - interval '1 day'"
        )

    assert (await closed.hold_sweeper.sweep()).reminded == 0
    opened = build_services(engine, TelegramMessages(), shop(ShopHours.parse("24/7", set(), UTC)))
    assert (await opened.hold_sweeper.sweep()).reminded == 1


async def test_without_the_settings_the_window_is_the_clock(
    engine: AsyncEngine, services: Services
) -> None:
    plain = build_services(
        engine, TelegramMessages(), Shop(frozenset({ADMIN.id}), HoldPolicy(True))
    )
    await add_books(plain, ("Dune", "Frank Herbert", 0))
    await plain.reservations.reserve(readers(1)[0], 1)
    await plain.restocks.restock(ADMIN.id, 1, 1)
    assert await rows(
        engine, "SELECT hold_expires_at - notified_at = interval '2 days' FROM pre_bookings"
    ) == [(True,)]
