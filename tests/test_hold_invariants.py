"""Holds under load, against the real database: hundreds of readers reserving and
releasing, staff restocking and collecting, two expiry loops (as two bot processes)
expiring short holds, and a watcher checking the invariants all the while."""

import asyncio
import contextlib
import random
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import DomainError
from bot.holds.policy import HoldPolicy
from bot.services import Services, build_services
from bot.telegram.hold_messages import TelegramHoldMessages
from bot.telegram.texts import reservations
from tests.chat import ADMIN
from tests.db import add_books, rows
from tests.readers import readers

# Any row is a broken invariant, seen in one snapshot (one statement):
# - more copies on hold than in stock (free + on hold = stock, free ≥ 0);
# - a free copy while readers wait (a copy not passed on);
# - a waiting reader ahead of a held one (line order skipped).
BROKEN = """
    SELECT 'holds above stock', b.id FROM books b
      JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'on_hold') AS held,
                           count(*) FILTER (WHERE status = 'waiting') AS waiting
                    FROM pre_bookings p WHERE p.book_id = b.id) c ON true
     WHERE c.held > b.stock_quantity
    UNION ALL
    SELECT 'free copy while readers wait', b.id FROM books b
      JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'on_hold') AS held,
                           count(*) FILTER (WHERE status = 'waiting') AS waiting
                    FROM pre_bookings p WHERE p.book_id = b.id) c ON true
     WHERE b.stock_quantity > c.held AND c.waiting > 0
    UNION ALL
    SELECT 'skipped in line', w.id FROM pre_bookings w
      JOIN pre_bookings h ON h.book_id = w.book_id AND h.status = 'on_hold'
     WHERE w.status = 'waiting' AND w.id < h.id"""

# Each reservation's messages match what happened to it: an offer exactly when it was
# set aside (held, collected, expired, or released after notified_at), one expiry
# message exactly when it expired, nothing for a reservation that only waited.
MISMATCHED_MESSAGES = """
    SELECT p.id, p.status::text, offers, expiries FROM pre_bookings p
      JOIN LATERAL (SELECT count(*) FILTER (WHERE kind = 'hold_offer') AS offers,
                           count(*) FILTER (WHERE kind = 'hold_expired') AS expiries
                    FROM notifications n WHERE n.pre_booking_id = p.id) m ON true
     WHERE offers <> (p.notified_at IS NOT NULL)::int
        OR expiries <> (p.status = 'expired')::int"""

SHORT = HoldPolicy(
    hold_in_line=True,
    pickup_window=timedelta(milliseconds=400),
    pickup_reminder=timedelta(0),
    zone=ZoneInfo("Europe/Berlin"),
)


async def test_invariants_hold_under_load(services: Services, engine: AsyncEngine) -> None:
    holds = build_services(
        engine, frozenset({ADMIN.id}), reservations.back_in_stock, SHORT, TelegramHoldMessages()
    )
    books = await add_books(holds, *[(f"Book {n}", "Someone", 0) for n in range(4)])
    crowd = readers(200)
    generator = random.Random(9)
    broken: list[tuple[object, ...]] = []
    running = True
    # As many calls at once as the bot's update processor lets through, within the pool.
    slots = asyncio.Semaphore(16)

    async def watch() -> None:
        while running:
            broken.extend(await rows(engine, BROKEN))
            await asyncio.sleep(0.005)

    async def sweep() -> None:
        assert holds.hold_sweeper is not None
        while running:
            await holds.hold_sweeper.sweep()
            await asyncio.sleep(0.01)

    async def reader_life(index: int) -> None:
        reader = crowd[index]
        for _ in range(1 + index % 2):
            await asyncio.sleep(generator.random() * 3)
            book = generator.choice(books)
            try:
                async with slots:
                    confirmation = await holds.reservations.reserve(reader, book.id)
            except DomainError:
                continue
            await asyncio.sleep(generator.random() * 0.6)
            if generator.random() < 0.4:
                try:
                    async with slots:
                        await holds.reservations.cancel(reader, confirmation.reservation_id)
                except DomainError:
                    pass  # expired or collected meanwhile

    async def staff(collects: bool) -> None:
        for _ in range(25):
            await asyncio.sleep(generator.random() * 0.1)
            book = generator.choice(books)
            with contextlib.suppress(DomainError):  # below the holds: refused
                await holds.restocks.restock(ADMIN.id, book.id, generator.randint(0, 6))
            held = await rows(engine, "SELECT id FROM pre_bookings WHERE status = 'on_hold'")
            if collects and held:
                with contextlib.suppress(DomainError):  # released or expired meanwhile
                    await holds.holds.collect(ADMIN.id, generator.choice(held)[0])

    tasks = [asyncio.create_task(watch()), asyncio.create_task(sweep())]
    tasks.append(asyncio.create_task(sweep()))
    # One of the staff only restocks: with both collecting, a slow machine's staff could
    # collect every hold before its deadline, and no expiry would race the rest.
    await asyncio.gather(
        *(reader_life(n) for n in range(len(crowd))), staff(collects=True), staff(collects=False)
    )
    await asyncio.sleep(SHORT.pickup_window.total_seconds() + 0.2)
    running = False
    await asyncio.gather(*tasks)

    assert broken == []
    assert await rows(engine, BROKEN) == []
    assert await rows(engine, MISMATCHED_MESSAGES) == []
    counts = dict(await rows(engine, "SELECT status::text, count(*) FROM pre_bookings GROUP BY 1"))
    # The race did everything it was meant to.
    for status in ("expired", "collected", "cancelled"):
        assert counts.get(status, 0) > 0, counts
