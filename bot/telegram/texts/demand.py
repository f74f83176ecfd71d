"""/demand's message: which books readers wait for most, and how their reservations ended
lately, then the special orders readers wait on (the chart's and the CSV's words are in
bot/demand/labels.py)."""

from datetime import timedelta
from html import escape

from bot.demand.labels import DEMAND_CHARTED, demand_outcome
from bot.demand.schemas import BookDemand, DemandReport
from bot.i18n import catalogs
from bot.i18n.catalogs import _, ngettext
from bot.special_orders.schemas import OpenRequest
from bot.telegram.lengths import MESSAGE_LIMIT, truncated
from bot.telegram.texts.formatting import book_name, fitted, moment, plain_length

DEMAND_LISTED = 10
# The least room for a book's title and author when the top ten are cut to fit.
NAME_UNITS = 24
# The open special orders listed after the books, and the most room each one's title and
# author take (the CSV has them all, whole): ten of them leave the books most of the
# message.
REQUESTS_LISTED = 10
REQUEST_NAME_UNITS = 60


def demand_report(report: DemandReport) -> str:
    requests = requests_section(report.open_requests)
    if not report.books:
        nobody = _(
            "Nobody is waiting for any book, and no reservation ended in the last %(days)s days."
        ) % {"days": report.days}
        return nobody + (f"\n\n{requests}" if requests else "")
    waiting = sum(1 for book in report.books if book.waiting)
    heading = (
        _("<b>Demand</b> on %(moment)s:") % {"moment": moment(report.generated_at)}
        + " "
        + ngettext(
            "%(readers)s reader waiting for %(books)s",
            "%(readers)s readers waiting for %(books)s",
            report.readers_waiting,
        )
        % {
            "readers": catalogs.number(report.readers_waiting),
            "books": ngettext("%(count)s book.", "%(count)s books.", waiting)
            % {"count": catalogs.number(waiting)},
        }
    )
    if report.readers_paused:
        # Paused readers keep their place and still want the book: staff order for them.
        heading += " " + ngettext(
            "%(count)s reader paused.", "%(count)s readers paused.", report.readers_paused
        ) % {"count": catalogs.number(report.readers_paused)}
    if report.holds:
        heading += " " + ngettext(
            "%(count)s copy on hold.", "%(count)s copies on hold.", report.copies_on_hold
        ) % {"count": catalogs.number(report.copies_on_hold)}

    def render(listed: tuple[BookDemand, ...], units: int | None) -> str:
        lines = [
            heading,
            _(
                "Sorted by the copies to order: readers (waiting, paused or on hold) per "
                "copy in stock, against a target of %(target)s."
            )
            % {"target": catalogs.decimal(report.hold_ratio_target)},
            _("Top %(listed)s; the chart shows %(charted)s, the CSV all:")
            % {"listed": len(listed), "charted": DEMAND_CHARTED},
            "",
        ]
        for place, demand in enumerate(listed, 1):
            entry = demand_entry(demand, report, units) + ordering_lines(demand, report)
            lines.append(f"{place}. {entry}")
        if requests:
            lines += ["", requests]
        return "\n".join(lines)

    # The top ten, their names cut to fit; fewer when even then a name would be left
    # with less than NAME_UNITS (numbers past a billion in every count): the CSV has all.
    listed = report.books[:DEMAND_LISTED]
    while len(listed) > 1:
        whole = render(listed, None)
        if plain_length(whole) <= MESSAGE_LIMIT:
            return whole
        room = MESSAGE_LIMIT - plain_length(render(listed, 0))
        if room // len(listed) >= NAME_UNITS:
            return render(listed, room // len(listed))
        listed = listed[:-1]
    return fitted(lambda units: render(listed, units), len(listed))


def requests_section(requests: tuple[OpenRequest, ...]) -> str:
    """The open special orders, the most readers first: the first ten, then how many more
    (the CSV has every one); empty when there are none."""
    if not requests:
        return ""
    listed = requests[:REQUESTS_LISTED]
    lines = [
        ngettext(
            "<b>Special orders</b>: %(count)s open, the most readers first:",
            "<b>Special orders</b>: %(count)s open, the most readers first:",
            len(requests),
        )
        % {"count": catalogs.number(len(requests))}
    ]
    for request in listed:
        lines.append(
            ngettext(
                "• request %(id)s: %(book)s, %(readers)s reader",
                "• request %(id)s: %(book)s, %(readers)s readers",
                request.readers,
            )
            % {
                "id": request.id,
                "book": request_name(request),
                "readers": catalogs.number(request.readers),
            }
        )
    if len(requests) > len(listed):
        more = len(requests) - len(listed)
        lines.append(
            ngettext("and %(count)s more in the CSV.", "and %(count)s more in the CSV.", more)
            % {"count": catalogs.number(more)}
        )
    return "\n".join(lines)


def request_name(request: OpenRequest) -> str:
    """Its title and author (a request may have no author), cut to REQUEST_NAME_UNITS,
    and its ISBN when the reader gave one."""
    if request.author:
        name = book_name(request.title, request.author, REQUEST_NAME_UNITS)
    else:
        name = f"<b>{escape(truncated(request.title, REQUEST_NAME_UNITS))}</b>"
    if request.isbn:
        name += " (" + _("ISBN %(isbn)s") % {"isbn": request.isbn} + ")"
    return name


def ordering_lines(demand: BookDemand, report: DemandReport) -> str:
    """Under holds how they ended (the share collected, the median time to collect), then
    readers per copy and the copies to order, each on a line of its own."""
    lines = []
    if report.holds:
        rate = demand.collection_rate
        lines.append(
            _("    collection rate %(rate)s · median time to collect %(median)s")
            % {
                "rate": "—" if rate is None else catalogs.percent(rate),
                "median": "—"
                if demand.median_to_collect is None
                else duration(demand.median_to_collect),
            }
        )
    ratio = demand.hold_ratio
    lines.append(
        _("    hold ratio %(ratio)s · suggested order %(order)s")
        % {
            "ratio": _("— (no copies)") if ratio is None else catalogs.decimal(ratio),
            "order": catalogs.number(demand.suggested_order),
        }
    )
    return "".join(f"\n{line}" for line in lines)


def duration(span: timedelta) -> str:
    """In hours up to two days, then in days: 4 h, 3.5 d."""
    hours = span.total_seconds() / 3600
    if hours < 48:
        return _("%(hours)s h") % {"hours": catalogs.decimal(hours)}
    return _("%(days)s d") % {"days": catalogs.decimal(hours / 24)}


def demand_entry(demand: BookDemand, report: DemandReport, units: int | None = None) -> str:
    book = demand.book
    recent = " · ".join(
        f"{demand_outcome(name)} {catalogs.number(count)}"
        for name, count in zip(report.outcomes, demand.recent, strict=True)
    )
    values = {
        "id": book.id,
        "book": book_name(book.title, book.author, units),
        "waiting": catalogs.number(demand.waiting),
        "held": catalogs.number(demand.on_hold),
        "paused": catalogs.number(demand.paused),
        "days": report.days,
        "recent": recent,
    }
    if demand.paused:
        return paused_entry(demand, report, values)
    if report.holds:
        if demand.oldest_wait is None:
            return (
                _(
                    "#%(id)s %(book)s: %(waiting)s waiting, %(held)s on hold\n"
                    "    last %(days)s days: %(recent)s"
                )
                % values
            )
        return _(
            "#%(id)s %(book)s: %(waiting)s waiting, %(held)s on hold, the longest waiting "
            "since %(moment)s\n    last %(days)s days: %(recent)s"
        ) % {**values, "moment": moment(demand.oldest_wait)}
    if demand.oldest_wait is None:
        return _("#%(id)s %(book)s: %(waiting)s waiting\n    last %(days)s days: %(recent)s") % (
            values
        )
    return _(
        "#%(id)s %(book)s: %(waiting)s waiting, the longest since %(moment)s\n"
        "    last %(days)s days: %(recent)s"
    ) % {**values, "moment": moment(demand.oldest_wait)}


def paused_entry(demand: BookDemand, report: DemandReport, values: dict[str, object]) -> str:
    """A book some readers paused: their number beside the waiting ones."""
    if report.holds:
        if demand.oldest_wait is None:
            return (
                _(
                    "#%(id)s %(book)s: %(waiting)s waiting, %(paused)s paused, %(held)s on hold\n"
                    "    last %(days)s days: %(recent)s"
                )
                % values
            )
        return _(
            "#%(id)s %(book)s: %(waiting)s waiting, %(paused)s paused, %(held)s on hold, the "
            "longest waiting since %(moment)s\n    last %(days)s days: %(recent)s"
        ) % {**values, "moment": moment(demand.oldest_wait)}
    if demand.oldest_wait is None:
        return (
            _(
                "#%(id)s %(book)s: %(waiting)s waiting, %(paused)s paused\n"
                "    last %(days)s days: %(recent)s"
            )
            % values
        )
    return _(
        "#%(id)s %(book)s: %(waiting)s waiting, %(paused)s paused, the longest since "
        "%(moment)s\n    last %(days)s days: %(recent)s"
    ) % {**values, "moment": moment(demand.oldest_wait)}
