"""/demand's counts and columns (review of issue 22, item 3): a withdrawal's
cancellations are no reader's cancel, lapsed reservations are counted, and the CSV's
columns of what to order keep their places whether or not some readers paused."""

import csv
import io
from datetime import UTC, datetime

from bot.books.schemas import BookView
from bot.demand.schemas import BookDemand, DemandReport
from bot.telegram.handlers.demand import files


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
