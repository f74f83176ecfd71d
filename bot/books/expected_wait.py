"""When a reader waiting for a book may expect a copy, from the book's own restock history
(the restocks table), or nothing when that history is too thin to say.

The rule, as docs/staff.md states it: of the last 365 days' stock changes, those that
brought copies (the stock went up) count, and those within a day of the one before are
part of it (a correction, a second box); with fewer than two there is no estimate. The
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


@dataclass(frozen=True)
class RestockPoint:
    """A stock change that brought copies: when, and how many."""

    at: datetime
    copies: int


def expected_at(history: Sequence[RestockPoint], place: int, now: datetime) -> datetime | None:
    """When the reader at place (1: first) may expect a copy, or None when the history
    (restocks of the last HISTORY before now, any order) does not allow an honest guess."""
    restocks = merged(
        sorted(
            (point for point in history if now - HISTORY <= point.at <= now and point.copies > 0),
            key=lambda point: point.at,
        )
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


def merged(restocks: Sequence[RestockPoint]) -> list[RestockPoint]:
    """The restocks in time order, each with the copies that came within SAME_RESTOCK of it."""
    found: list[RestockPoint] = []
    for point in restocks:
        if found and point.at - found[-1].at < SAME_RESTOCK:
            found[-1] = RestockPoint(found[-1].at, found[-1].copies + point.copies)
        else:
            found.append(point)
    return found


def expected_day(
    history: Sequence[RestockPoint], place: int, now: datetime, zone: tzinfo
) -> date | None:
    """expected_at's day in the shop's time zone, as readers are shown it."""
    expected = expected_at(history, place, now)
    return None if expected is None else expected.astimezone(zone).date()
