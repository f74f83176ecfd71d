"""Readers' special orders: /request and its answers, the ordered and declined notices,
the requests among /myreservations, staff's /requests, /order and /decline, and the
refusals."""

from html import escape

from bot.i18n import catalogs
from bot.i18n.catalogs import _, ngettext
from bot.notifications.messages import SpecialOrderNews
from bot.reservations.schemas import RequestLine, RequestWithdrawal
from bot.special_orders.errors import (
    AlreadyRequested,
    AuthorUnknown,
    DeclineReasonInvalid,
    ExpectedDayPassed,
    OrderedBookInStock,
    RequestDecided,
    RequestFieldInvalid,
    RequestNotFound,
    TooManyRequests,
)
from bot.special_orders.models import RequestStatus
from bot.special_orders.schemas import DeclineReport, OrderReport, Requested, RequestsPage
from bot.telegram.lengths import CALLBACK_ANSWER_LIMIT, truncated
from bot.telegram.texts.formatting import book_name, moment, shortened, truncated_html
from bot.telegram.texts.isbns import isbn_line

# A request's name in the reader's list: short enough that ten fit beside their
# reservations in one message.
LISTED_NAME_UNITS = 80
# So is a decline's reason there (up to 200 characters, each up to 2 UTF-16 units: ten in
# full would not fit); the reader's notice has it in full.
LISTED_REASON_UNITS = 80


def requested_name(title: str, author: str | None, units: int | None = None) -> str:
    """A requested book's name: title and author, or the title alone (an ISBN the
    metadata service did not know), cut to units UTF-16 units when given."""
    if author is None:
        return f"<b>{escape(title if units is None else truncated(title, units))}</b>"
    return book_name(title, author, units)


def requested(result: Requested) -> str:
    """/request recorded: the reader's request, new or joined."""
    values = {"id": result.request_id, "book": requested_name(result.title, result.author)}
    if result.place == 1:
        text = _("📮 Request #%(id)s recorded: %(book)s.") % values
    else:
        text = _(
            "📮 You joined request #%(id)s for %(book)s: you are reader number %(place)s "
            "to ask for it."
        ) % {**values, "place": result.place}
    return (
        text
        + " "
        + _(
            "The shop will answer: I'll message you when it is ordered or declined. "
            "See it in /myreservations."
        )
    )


def ordered_notice(news: SpecialOrderNews) -> str:
    """Each reader of an ordered request: they wait in line for the book now."""
    text = _(
        "📦 Good news: the shop has ordered %(book)s, which you asked for (request "
        "#%(id)s). You are in line for it, in the order you asked: I'll message you "
        "when it arrives. See your place in /myreservations."
    ) % {"book": requested_name(news.title, news.author), "id": news.request_id}
    if news.expected_on is None:
        return text
    return text + "\n" + _("📅 Expected on %(day)s.") % {"day": catalogs.day(news.expected_on)}


def declined_notice(news: SpecialOrderNews) -> str:
    """Each reader of a declined request, with the staff's reason."""
    return _(
        "📭 Sorry: the shop can't get %(book)s, which you asked for (request #%(id)s): "
        "%(reason)s. Send /books to find another book."
    ) % {
        "book": requested_name(news.title, news.author),
        "id": news.request_id,
        "reason": escape(news.reason or ""),
    }


def request_entry(request: RequestLine) -> str:
    """One of the reader's requests in /myreservations, with its state."""
    name = requested_name(request.title, request.author, LISTED_NAME_UNITS)
    name = f"#{request.request_id} {name}"
    if request.status == RequestStatus.ORDERED.value:
        state = _("📦 ordered: now your reservation #%(id)s") % {"id": request.reservation_id}
        if request.expected_on is not None:
            state += " · " + _("expected on %(day)s") % {"day": catalogs.day(request.expected_on)}
    elif request.status == RequestStatus.DECLINED.value:
        reason = truncated(request.decline_reason or "", LISTED_REASON_UNITS)
        state = _("📭 declined: %(reason)s") % {"reason": escape(reason)}
    else:
        state = _("📮 asked on %(moment)s, waiting for the shop's answer") % {
            "moment": moment(request.asked_at)
        }
    return f"{name}\n    {state}"


def requests_section(requests: tuple[RequestLine, ...]) -> str:
    """Above the reader's reservations: their special orders."""
    return "\n".join([_("<b>Your requests</b>"), "", *map(request_entry, requests)])


def withdraw_button(request: RequestLine) -> str:
    return shortened(
        _("Withdraw request #%(id)s %(title)s")
        % {"id": request.request_id, "title": request.title}
    )


def request_withdrawn(withdrawal: RequestWithdrawal) -> str:
    return _("Withdrew request #%(id)s for %(title)s.") % {
        "id": withdrawal.request_id,
        "title": f"<b>{escape(withdrawal.title)}</b>",
    }


def request_withdrawn_short() -> str:
    return truncated(_("Request withdrawn"), CALLBACK_ANSWER_LIMIT)


def requests_page(page: RequestsPage) -> str:
    """Staff's /requests: open requests, the most wanted first."""
    if not page.requests and page.number == 1:
        return _("No open requests from readers.")

    def render(units: int | None) -> str:
        lines = [
            _("<b>Open requests</b>, most wanted first (page %(number)s)")
            % {"number": page.number},
            "",
        ]
        for request in page.requests:
            name = requested_name(request.title, request.author)
            lines.append(f"#{request.id} {name}")
            detail = ngettext(
                "👥 %(count)s reader since %(moment)s",
                "👥 %(count)s readers since %(moment)s",
                request.readers,
            ) % {"count": request.readers, "moment": moment(request.created_at)}
            if request.isbn is not None:
                detail += " · " + isbn_line(request.isbn)
            lines.append("    " + detail)
        lines += [
            "",
            _(
                "Order one: /order &lt;id&gt; [ISBN] [YYYY-MM-DD]. "
                "Decline one: /decline &lt;id&gt; &lt;reason&gt;."
            ),
        ]
        return "\n".join(lines)

    return truncated_html(render)


def order_button(request_id: int) -> str:
    return _("Order #%(id)s") % {"id": request_id}


def order_report(report: OrderReport) -> str:
    """What /order did."""
    text = _("Request #%(id)s ordered: it is #%(book_id)s %(book)s in the catalog.") % {
        "id": report.request_id,
        "book_id": report.book_id,
        "book": book_name(report.title, report.author),
    }
    text += " " + ngettext(
        "%(count)s reader put in its line, in the order they asked, and told.",
        "%(count)s readers put in its line, in the order they asked, and told.",
        report.reserved,
    ) % {"count": report.reserved}
    if report.already_waiting:
        text += " " + ngettext(
            "%(count)s reader was waiting for it already.",
            "%(count)s readers were waiting for it already.",
            report.already_waiting,
        ) % {"count": report.already_waiting}
    if report.expected_on is not None:
        text += " " + _("Expected on %(day)s.") % {"day": catalogs.day(report.expected_on)}
    return (
        text
        + " "
        + _("When copies arrive: /restock %(book_id)s &lt;quantity&gt;.")
        % {"book_id": report.book_id}
    )


def order_report_short(report: OrderReport) -> str:
    return truncated(
        _("Ordered: #%(book_id)s") % {"book_id": report.book_id}, CALLBACK_ANSWER_LIMIT
    )


def decline_report(report: DeclineReport) -> str:
    return ngettext(
        "Request #%(id)s for %(book)s declined: %(count)s reader told.",
        "Request #%(id)s for %(book)s declined: %(count)s readers told.",
        report.told,
    ) % {
        "id": report.request_id,
        "book": requested_name(report.title, report.author),
        "count": report.told,
    }


def already_requested(error: AlreadyRequested) -> str:
    return _(
        "You asked for %(book)s already (request #%(id)s): it stands, the shop will "
        "answer. See /myreservations."
    ) % {"book": requested_name(error.title, error.author), "id": error.request_id}


def too_many_requests(error: TooManyRequests) -> str:
    return _(
        "You have %(limit)s open requests, as many as one may. Withdraw one in "
        "/myreservations first."
    ) % {"limit": error.limit}


def request_field_invalid(error: RequestFieldInvalid) -> str:
    if error.field == "title":
        return _("The title must have a word and be at most %(limit)s characters.") % {
            "limit": error.limit
        }
    return _("The author must have a word and be at most %(limit)s characters.") % {
        "limit": error.limit
    }


def request_not_found(error: RequestNotFound) -> str:
    return _(
        "No request #%(id)s. Readers' requests are in /myreservations, staff's in /requests."
    ) % {"id": error.request_id}


def request_decided(error: RequestDecided) -> str:
    if error.status == RequestStatus.ORDERED.value:
        return _("Request #%(id)s was ordered already: nothing changed.") % {
            "id": error.request_id
        }
    return _("Request #%(id)s was declined already: nothing changed.") % {"id": error.request_id}


def expected_day_passed(error: ExpectedDayPassed) -> str:
    return _("%(day)s is in the past: give today or a later day (YYYY-MM-DD).") % {
        "day": escape(error.day)
    }


def author_unknown(error: AuthorUnknown) -> str:
    return _(
        "No author known for request #%(id)s: add the book with /addbook &lt;title&gt; | "
        "&lt;author&gt; | 0 | &lt;ISBN&gt;, then /order %(id)s &lt;ISBN&gt;."
    ) % {"id": error.request_id}


def decline_reason_invalid(error: DeclineReasonInvalid) -> str:
    return _("The reason must be between 1 and %(limit)s characters.") % {"limit": error.limit}


def ordered_book_in_stock(error: OrderedBookInStock) -> str:
    return ngettext(
        "#%(book_id)s %(book)s is in the catalog with %(count)s copy free: its readers can "
        "have it now. Tell them with /decline %(id)s in stock as /book_%(book_id)s.",
        "#%(book_id)s %(book)s is in the catalog with %(count)s copies free: its readers can "
        "have it now. Tell them with /decline %(id)s in stock as /book_%(book_id)s.",
        error.free,
    ) % {
        "book_id": error.book_id,
        "book": book_name(error.title, error.author),
        "count": error.free,
        "id": error.request_id,
    }
