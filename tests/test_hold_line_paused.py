"""Under hold_in_line, copies go to the first readers who wait: paused readers keep their
rows (their place) but are outside the line a restock or a released hold reads."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.holds.schemas import LineRestock
from bot.services import Services
from tests.chat import ADMIN
from tests.db import add_books, rows
from tests.readers import readers

STATUSES = "SELECT id, status::text FROM pre_bookings ORDER BY id"


async def test_copies_skip_paused_readers_for_the_first_who_wait(
    hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    line = readers(6)
    for reader in line:
        await hold_services.reservations.reserve(reader, 1)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET status = 'paused', paused_at = now() "
                "WHERE id IN (1, 3, 4)"
            )
        )

    restock = await hold_services.restocks.restock(ADMIN.id, 1, 1)

    assert isinstance(restock, LineRestock)
    assert (restock.set_aside, restock.waiting_before) == (1, 3)
    # Reader #2 releases the copy: it passes on to #5, past the paused #3 and #4.
    await hold_services.reservations.cancel(line[1], 2)
    assert await rows(engine, STATUSES) == [
        (1, "paused"),
        (2, "cancelled"),
        (3, "paused"),
        (4, "paused"),
        (5, "on_hold"),
        (6, "waiting"),
    ]
    assert await rows(engine, "SELECT pre_booking_id, kind FROM notifications ORDER BY id") == [
        (2, "hold_offer"),
        (5, "hold_offer"),
    ]
