"""The words in /demand's files, plain text in the reader's language: the chart's title,
axis, legend and bar labels, and the CSV's header. The outcome names are shared with the
report's text."""

from collections.abc import Sequence

from bot.demand import chart
from bot.demand.schemas import BookDemand, DemandReport
from bot.i18n import catalogs
from bot.i18n.catalogs import N_, _
from bot.special_orders.schemas import OpenRequest

DEMAND_OUTCOME_LABELS = {
    "told": N_("told it's back"),
    "set_aside": N_("copy set aside"),
    "collected": N_("collected"),
    "released": N_("released"),
    "expired": N_("expired"),
    "cancelled": N_("cancelled"),
    "lapsed": N_("lapsed"),
}
# The chart's bars: the books most waited for.
DEMAND_CHARTED = 15


def demand_outcome(name: str) -> str:
    return _(DEMAND_OUTCOME_LABELS[name]) if name in DEMAND_OUTCOME_LABELS else name


def demand_chart_title(report: DemandReport) -> str:
    if report.holds:
        return _("Readers waiting and copies on hold: top %(charted)s, %(moment)s") % {
            "charted": DEMAND_CHARTED,
            "moment": catalogs.moment(report.generated_at),
        }
    return _("Readers waiting: top %(charted)s, %(moment)s") % {
        "charted": DEMAND_CHARTED,
        "moment": catalogs.moment(report.generated_at),
    }


def demand_chart_axis(report: DemandReport) -> str:
    return _("readers") if report.holds or report.readers_paused else _("readers waiting")


def demand_chart_series(report: DemandReport) -> list[str]:
    """The bars' legend: one series, or waiting, on hold and paused (when any) stacked."""
    return [
        _("readers waiting"),
        *([_("copies on hold")] if report.holds else []),
        *([_("readers paused")] if report.readers_paused else []),
    ]


def demand_chart_colours(report: DemandReport) -> list[str]:
    """Each series' colour: a kind of reader keeps its colour whichever others are shown."""
    return [
        chart.WAITING_COLOUR,
        *([chart.ON_HOLD_COLOUR] if report.holds else []),
        *([chart.PAUSED_COLOUR] if report.readers_paused else []),
    ]


def demand_chart_counts(report: DemandReport, charted: Sequence[BookDemand]) -> list[list[int]]:
    """The bars' values, series by series as demand_chart_series names them."""
    return [
        [book.waiting for book in charted],
        *([[book.on_hold for book in charted]] if report.holds else []),
        *([[book.paused for book in charted]] if report.readers_paused else []),
    ]


def demand_chart_label(demand: BookDemand) -> str:
    """Plain text: a chart is no HTML."""
    return f"#{demand.book.id} {demand.book.title}"


def demand_csv_header(report: DemandReport) -> list[str]:
    recent = [
        _("%(outcome)s (last %(days)s days)")
        % {"outcome": demand_outcome(name), "days": report.days}
        for name in report.outcomes
    ]
    return [
        _("book id"),
        _("title"),
        _("author"),
        _("in stock"),
        _("readers waiting"),
        *([_("copies on hold")] if report.holds else []),
        _("oldest wait (%(zone)s)") % {"zone": report.generated_at.tzname()},
        *recent,
        # What to order (issue 22), after every column of before.
        _("hold ratio"),
        _("suggested order (target %(target)s)")
        % {"target": decimal_cell(report.hold_ratio_target)},
        *(
            [
                _("collection rate (last %(days)s days)") % {"days": report.days},
                _("median hours from set aside to collected (last %(days)s days)")
                % {"days": report.days},
            ]
            if report.holds
            else []
        ),
        # Last, and only when some are paused: every other column keeps its place
        # (a spreadsheet maps the hold ratio and the order by position).
        *([_("readers paused")] if report.readers_paused else []),
        # Then, only when readers have special orders open: which kind of row this is,
        # and the request's id and ISBN. The requests are rows of the one table, after
        # the books, so a spreadsheet still sorts and filters it as one.
        *([_("kind"), _("request id"), _("ISBN")] if report.open_requests else []),
    ]


def demand_csv_book_kind(demand: BookDemand, report: DemandReport) -> list[object]:
    """A book's cells under the special orders' headers, when there are any."""
    return [_("book"), "", demand.book.isbn or ""] if report.open_requests else []


def demand_csv_request(request: OpenRequest, report: DemandReport, columns: int) -> list[object]:
    """A special order as a row of the table of so many columns (the header's): its title
    and author, its readers under "readers waiting" (they wait for the shop's answer) and
    when the first asked under "oldest wait"; empty where a book not in the catalog has
    nothing (stock, outcomes, ratio, the order to suggest)."""
    leading = [
        "",
        request.title,
        request.author or "",
        "",
        request.readers,
        *([""] if report.holds else []),
        request.created_at.replace(microsecond=0).isoformat(),
    ]
    kind = [_("special order"), request.id, request.isbn or ""]
    blank = columns - len(leading) - len(kind)
    return [*leading, *[""] * blank, *kind]


def demand_csv_ordering(demand: BookDemand, report: DemandReport) -> list[object]:
    """The cells under the headers of what to order: plain numbers a spreadsheet reads
    (a dot for decimals, the rate as a fraction), empty where there is none."""
    to_collect = demand.median_to_collect
    return [
        "" if demand.hold_ratio is None else decimal_cell(demand.hold_ratio),
        demand.suggested_order,
        *(
            [
                "" if demand.collection_rate is None else decimal_cell(demand.collection_rate),
                "" if to_collect is None else f"{to_collect.total_seconds() / 3600:.1f}",
            ]
            if report.holds
            else []
        ),
    ]


def decimal_cell(value: float) -> str:
    """Up to two decimals, no trailing zeros: 4.67, 2.5, 3."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def demand_chart_notes(charted: Sequence[BookDemand]) -> list[str]:
    """Beside each bar's total: the copies to order, where there are any."""
    return [
        _("order %(count)s") % {"count": catalogs.number(book.suggested_order)}
        if book.suggested_order
        else ""
        for book in charted
    ]
