"""The shop's opening hours (OPENING_HOURS, CLOSED_DATES): when a hold's pickup window
ends, and whether the shop is open now (reminders wait for it).

The rule, after Koha's ExcludeHolidaysFromMaxPickUpDelay, with times of day:
1. The window runs on the clock from the moment the copy is set aside, but a day on which
   the shop does not open at all (no open period in OPENING_HOURS that day, or a date in
   CLOSED_DATES), midnight to midnight in the shop's time zone, does not count: the
   window goes on the next day the shop opens.
2. If that end falls while the shop is closed, the deadline is the closing time of the
   last open period before it (an end exactly at closing time is that closing time). If
   the shop does not open at all between the copy set aside and that end, the deadline is
   the closing time of the next open period instead: a reader always gets one.

OpenStreetMap's opening_hours syntax is parsed and evaluated by opening-hours-py; the
times it takes and gives are the shop's wall-clock times (naive), converted here.
"""

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from opening_hours import OpeningHours, State

# A shop that never opens within this many days (say "off" with no exception) gets
# the window on the clock, as without the settings.
SEARCH_DAYS = 366
DAY = timedelta(days=1)


def parse_schedule(text: str) -> OpeningHours:
    """OPENING_HOURS parsed, or a ValueError of one line (the parser's report is many)."""
    try:
        return OpeningHours(text)
    except Exception as error:  # its ParserError, which the library's stubs don't name
        where = re.search(r"-->\s*\d+:(\d+)", str(error))
        at = f" (at character {where.group(1)})" if where else ""
        raise ValueError(
            f"is not in OpenStreetMap's opening_hours syntax{at}, "
            "such as Mo-Fr 10:00-19:00; Sa 10:00-16:00"
        ) from None


@dataclass(frozen=True, eq=False)
class ShopHours:
    """When the shop is open: its weekly hours less its closed dates, in its time zone."""

    schedule: OpeningHours
    closed_dates: frozenset[date]
    zone: tzinfo

    @classmethod
    def parse(
        cls, opening_hours: str | None, closed_dates: Collection[date], zone: tzinfo
    ) -> "ShopHours":
        """Without OPENING_HOURS, open around the clock but on the closed dates."""
        return cls(parse_schedule(opening_hours or "24/7"), frozenset(closed_dates), zone)

    def is_open(self, at: datetime) -> bool:
        local = self._local(at)
        return local.date() not in self.closed_dates and self.schedule.is_open(local)

    def deadline(self, start: datetime, window: timedelta) -> datetime:
        """The end of a pickup window of this length from start (the module's rule)."""
        end = self._counted_end(start, window)
        if end is None:
            return start + window
        if self.is_open(end):
            return end
        begin, finish = self._local(start), self._local(end)
        last = None
        for _, closing in self._open_periods(begin, finish):
            last = closing
        if last is None:
            last = next((closing for _, closing in self._open_periods(finish)), None)
        return self._aware(last) if last is not None else end

    def _counted_end(self, start: datetime, window: timedelta) -> datetime | None:
        """Rule 1: the window's end, closed days skipped (in absolute time, so that a
        change to or from summer time does not stretch it); None if the shop never opens."""
        moment, left = start.astimezone(UTC), window
        for _ in range(SEARCH_DAYS + window.days + 1):
            day = self._local(moment).date()
            midnight = self._aware(datetime.combine(day + DAY, time())).astimezone(UTC)
            if self._opens_on(day):
                step = min(left, midnight - moment)
                moment, left = moment + step, left - step
                if not left:
                    return moment.astimezone(self.zone)
            moment = midnight
        return None

    def _opens_on(self, day: date) -> bool:
        start = datetime.combine(day, time())
        return any(True for _ in self._open_periods(start, start + DAY))

    def _open_periods(
        self, begin: datetime, end: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """The open periods overlapping [begin, end) in wall-clock time, closed dates cut
        out; without end, up to SEARCH_DAYS on."""
        end = end or begin + SEARCH_DAYS * DAY
        period: tuple[datetime, datetime] | None = None
        for piece in self._open_pieces(begin, end):
            if period is not None and period[1] == piece[0]:
                period = (period[0], piece[1])  # open on across midnight
                continue
            if period is not None:
                yield period
            period = piece
        if period is not None:
            yield period

    def _open_pieces(self, begin: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The schedule's open intervals cut at midnight, those on closed dates left out."""
        for opens, closes, state, _ in self.schedule.intervals(begin, end):
            if state != State.OPEN:
                continue
            day = opens.date()
            while datetime.combine(day, time()) < closes:
                piece = (
                    max(opens, datetime.combine(day, time())),
                    min(closes, datetime.combine(day + DAY, time())),
                )
                if day not in self.closed_dates and piece[0] < piece[1]:
                    yield piece
                day += DAY

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def _aware(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone)


# The days as OPENING_HOURS spells them (OpenStreetMap's opening_hours), Monday first.
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
WEEKLY_SHAPE = re.compile(r"([A-Za-z]{2})\s+([01]?\d|2[0-3]):([0-5]\d)")
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WeeklyTime:
    """A moment of the week in the shop's time zone, such as Mo 09:00 (DIGEST_AT)."""

    weekday: int  # 0: Monday, as date.weekday()
    at: time

    @classmethod
    def parse(cls, text: str) -> "WeeklyTime":
        """ "Mo 09:00", or a ValueError of one line."""
        shape = WEEKLY_SHAPE.fullmatch(text.strip())
        day = shape.group(1).capitalize() if shape else None
        if shape is None or day not in WEEKDAYS:
            raise ValueError(
                "is not a day of the week and a time, such as Mo 09:00 "
                f"(days: {' '.join(WEEKDAYS)}; the time HH:MM, in the shop's TIMEZONE)"
            )
        return cls(WEEKDAYS.index(day), time(int(shape.group(2)), int(shape.group(3))))

    def latest(self, now: datetime, zone: tzinfo) -> datetime:
        """The last such moment at or before now, in the zone, as an instant (UTC). The
        wall-clock time is taken as zoneinfo takes it: in an hour that a change to summer
        time skips, it falls an hour later; in one that the change back repeats, the first
        time (fold=0). Every process finds the same instant."""
        local = now.astimezone(zone)
        day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
        due = datetime.combine(day, self.at, zone).astimezone(UTC)
        if due > now:
            due = datetime.combine(day - WEEK, self.at, zone).astimezone(UTC)
        return due

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.at:%H:%M}"
