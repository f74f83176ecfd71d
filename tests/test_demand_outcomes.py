"""/demand's counts and columns (review of issue 22, item 3): a withdrawal's
cancellations are no reader's cancel, lapsed reservations are counted, and the CSV's
columns of what to order keep their places whether or not some readers paused."""

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.schemas import BookView
from bot.demand.schemas import BookDemand, DemandReport
from bot.services import Services
from bot.telegram.handlers.demand import files
from tests.chat import ADMIN
from tests.db import add_books
from tests.test_demand_ordering import readers, reserve_all


async def test_a_withdrawal_is_no_readers_cancel_and_lapses_count(
    services: Services, hold_services: Services, engine: AsyncEngine
) -> None:
    """Of Dune's four readers one cancelled, two were cancelled by the book's withdrawal
    (cancel_reason set) and one lapsed (their date passed): cancelled 1, lapsed 1, under
    either policy; a book whose only ending was a lapse is still in the report."""
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await reserve_all(services, readers(5000, 4), 1)
    await reserve_all(services, readers(5100, 1), 2)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE pre_bookings SET status = 'cancelled', cancelled_at = now() WHERE id = 1")
        )
        await connection.execute(
            text(
                "UPDATE pre_bookings SET status = 'cancelled', cancelled_at = now(), "
                "cancel_reason = 'out of print' WHERE id IN (2, 3)"
            )
        )
        await connection.execute(
            text(
                "UPDATE pre_bookings SET status = 'lapsed', lapsed_at = now(), "
                "needed_until = CURRENT_DATE - 1 WHERE id IN (4, 5)"
            )
        )
    for shop in (services, hold_services):
        report = await shop.demand.report(ADMIN.id)
        counts = {
            demand.book.id: dict(zip(report.outcomes, demand.recent, strict=True))
            for demand in report.books
        }
        assert set(counts) == {1, 2}
        assert counts[1]["cancelled"] == 1
        assert counts[1]["lapsed"] == 1
        assert counts[2]["lapsed"] == 1


def test_the_ordering_columns_keep_their_places_with_paused_readers() -> None:
    """A spreadsheet reads the hold ratio and the suggested order from fixed columns:
    one paused reader must not move them."""

    def table(paused: int, holds: bool) -> list[list[str]]:
        demand = BookDemand(
            BookView(1, "Dune", "Frank Herbert", 3),
            2,
            None,
            (0, 0, 0) if not holds else (0, 0, 0, 0, 0, 0),
            paused=paused,
            suggested_order=0,
        )
        outcomes = (
            ("told", "cancelled", "lapsed")
            if not holds
            else ("set_aside", "collected", "released", "expired", "cancelled", "lapsed")
        )
        report = DemandReport((demand,), outcomes, 30, datetime.now(UTC), holds)
        _, content = files(report)
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))

    for holds in (False, True):
        without, with_paused = table(0, holds), table(1, holds)
        place = without[0].index("hold ratio")
        assert with_paused[0].index("hold ratio") == place
        assert with_paused[0][-1] == "readers paused"
        assert with_paused[1][place + 1 :] == [*without[1][place + 1 :], "1"]
