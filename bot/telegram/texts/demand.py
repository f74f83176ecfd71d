"""/demand's message: which books readers wait for most, and how their reservations ended
lately (the chart's and the CSV's words are in bot/demand/labels.py)."""

from bot.demand.labels import DEMAND_CHARTED, demand_outcome
from bot.demand.schemas import BookDemand, DemandReport
from bot.i18n import catalogs
from bot.i18n.catalogs import _, ngettext
from bot.telegram.texts.formatting import book_name, fitted, moment

DEMAND_LISTED = 10


def demand_report(report: DemandReport) -> str:
    if not report.books:
        return _(
            "Nobody is waiting for any book, and no reservation ended in the last %(days)s days."
        ) % {"days": report.days}
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
    listed = report.books[:DEMAND_LISTED]

    def render(units: int | None) -> str:
        lines = [
            heading,
            _("Top %(listed)s; the chart shows %(charted)s, the CSV all:")
            % {"listed": len(listed), "charted": DEMAND_CHARTED},
            "",
        ]
        for place, demand in enumerate(listed, 1):
            lines.append(f"{place}. {demand_entry(demand, report, units)}")
        return "\n".join(lines)

    return fitted(render, len(listed))


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
