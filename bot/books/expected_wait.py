"""When a reader waiting for a book may expect a copy, from the book's own restock history
(the restocks table), or nothing when that history is too thin to say.

The rule, as docs/staff.md states it: of the last 365 days' stock changes, those that
brought copies (the stock went up) count, and those within a day of the one before are
part of it (a second box); a change down within CORRECTION of a change up takes that much
back (a typo corrected, a restock entered on the wrong book and undone), while a later one
is a sale; with fewer than two restocks left there is no estimate. The
median time between them is the book's restock interval; the median copies they brought,
its restock size. A reader at place p needs k = ceil(p / size) restocks. Restocks are
expected every interval after the last one; those already overdue are taken as missed, so
the reader's copy is expected with the k-th restock still to come:
last + (missed + k) * interval. Beyond a year from now, no estimate is shown."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise
from math import ceil
from statistics import median

# The history looked at, and the furthest estimate worth showing.
HISTORY = timedelta(days=365)
HORIZON = timedelta(days=365)
# Fewer restocks than this in the history: no estimate.
MIN_RESTOCKS = 2
# Stock going up again this soon after a restock is part of it, not a restock of its own.
SAME_RESTOCK = timedelta(days=1)
# Stock going down this soon after going up corrects it; later, copies were sold.
CORRECTION = timedelta(minutes=15)


@dataclass(frozen=True)
class RestockPoint:
    """A stock change: when, and how many copies it brought (negative: it went down)."""

    at: datetime
    copies: int


def expected_at(history: Sequence[RestockPoint], place: int, now: datetime) -> datetime | None:
    """When the reader at place (1: first) may expect a copy, or None when the history
    (restocks of the last HISTORY before now, any order) does not allow an honest guess."""
    # No upper bound: the database's clock, which dated the restocks, may run ahead of ours.
    restocks = merged(
        sorted((point for point in history if now - HISTORY <= point.at), key=lambda p: p.at)
    )
    if len(restocks) < MIN_RESTOCKS or place < 1:
        return None
    interval = timedelta(
        seconds=median(
            (later.at - earlier.at).total_seconds() for earlier, later in pairwise(restocks)
        )
    )
    if interval <= timedelta(0):
        return None
    needed = ceil(place / median(point.copies for point in restocks))
    last = restocks[-1].at
    missed = (now - last) // interval
    expected = last + (missed + needed) * interval
    return expected if expected - now <= HORIZON else None


def merged(changes: Sequence[RestockPoint]) -> list[RestockPoint]:
    """The restocks among the stock changes (in time order): each with the copies that came
    within SAME_RESTOCK of its last box, less those taken back within CORRECTION."""
    found: list[RestockPoint] = []
    last_up: datetime | None = None
    for change in changes:
        if change.copies > 0:
            if found and last_up is not None and change.at - last_up < SAME_RESTOCK:
                found[-1] = RestockPoint(found[-1].at, found[-1].copies + change.copies)
            else:
                found.append(change)
            last_up = change.at
        elif found and last_up is not None and change.at - last_up < CORRECTION:
            found[-1] = RestockPoint(found[-1].at, found[-1].copies + change.copies)
    return [restock for restock in found if restock.copies > 0]


def expected_day(
    history: Sequence[RestockPoint], place: int, now: datetime, zone: tzinfo
) -> date | None:
    """expected_at's day in the shop's time zone, as readers are shown it."""
    expected = expected_at(history, place, now)
    return None if expected is None else expected.astimezone(zone).date()
