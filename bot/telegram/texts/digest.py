"""The staff's digest (/digest, and weekly at DIGEST_AT): what to order, the special orders
readers wait on, holds ending soon and messages that failed, in one message."""

from collections.abc import Callable, Sequence
from html import escape
from typing import TypeVar

from bot.demand.schemas import BookDemand
from bot.digest.schemas import Digest, EndingHold, FailedMessages
from bot.i18n import catalogs
from bot.i18n.catalogs import _, ngettext
from bot.special_orders.schemas import OpenRequest
from bot.telegram.lengths import MESSAGE_LIMIT, truncated
from bot.telegram.texts.deliveries import MESSAGE_KINDS, message_kind
from bot.telegram.texts.formatting import book_name, deadline, moment, plain_length

# Each list's first entries, fewer when the message would pass Telegram's limit.
DIGEST_LISTED = 10
# A book's title and author together, at most (the lists stay readable).
NAME_UNITS = 80

T = TypeVar("T")


def digest(report: Digest) -> str:
    """The digest in the active language: as many of each list's entries as fit."""
    for listed in range(DIGEST_LISTED, -1, -1):
        text = render(report, listed)
        if plain_length(text) <= MESSAGE_LIMIT:
            return text
    return text  # unreachable: with no entries listed the message is a few lines


def render(report: Digest, listed: int) -> str:
    sections = [
        _("📰 <b>Digest</b> of %(moment)s") % {"moment": moment(report.generated_at)},
        section(
            _("🛒 <b>To order</b>, for at most %(target)s readers a copy (/demand):")
            % {"target": catalogs.decimal(report.hold_ratio_target)},
            _("🛒 Nothing to order."),
            report.orders,
            order_entry,
            listed,
        ),
        section(
            _("📝 <b>Special orders</b> readers wait on (/requests):"),
            _("📝 No open special orders."),
            report.requests,
            request_entry,
            listed,
        ),
        section(
            ngettext(
                "⏳ <b>Holds ending</b> within %(hours)s hour:",
                "⏳ <b>Holds ending</b> within %(hours)s hours:",
                hours(report),
            )
            % {"hours": hours(report)},
            _("⏳ No holds ending soon."),
            report.holds,
            hold_entry,
            listed,
        ),
        section(
            ngettext(
                "❌ <b>Messages failed</b> in the last %(days)s day:",
                "❌ <b>Messages failed</b> in the last %(days)s days:",
                report.failed_within.days,
            )
            % {"days": report.failed_within.days},
            _("✅ No message failed in the last %(days)s days.")
            % {"days": report.failed_within.days},
            report.failed,
            failed_entry,
            listed,
        ),
    ]
    return "\n\n".join(sections)


def hours(report: Digest) -> int:
    return int(report.holds_within.total_seconds() // 3600)


def section(
    heading: str,
    empty: str,
    entries: Sequence[T],
    entry: Callable[[T], str],
    listed: int,
) -> str:
    """A heading and the first `listed` entries, then how many more; or the empty line."""
    if not entries:
        return empty
    lines = [heading, *(entry(each) for each in entries[:listed])]
    left = len(entries) - min(listed, len(entries))
    if left:
        lines.append(
            ngettext("… and %(count)s more", "… and %(count)s more", left)
            % {"count": catalogs.number(left)}
        )
    return "\n".join(lines)


def order_entry(demand: BookDemand) -> str:
    book = demand.book
    return ngettext(
        "#%(id)s %(book)s: order %(order)s (%(readers)s reader, %(copies)s in stock)",
        "#%(id)s %(book)s: order %(order)s (%(readers)s readers, %(copies)s in stock)",
        demand.readers,
    ) % {
        "id": book.id,
        "book": book_name(book.title, book.author, NAME_UNITS),
        "order": catalogs.number(demand.suggested_order),
        "readers": catalogs.number(demand.readers),
        "copies": catalogs.number(book.stock_quantity),
    }


def request_entry(request: OpenRequest) -> str:
    name = (
        book_name(request.title, request.author, NAME_UNITS)
        if request.author
        else f"<b>{escape(truncated(request.title, NAME_UNITS))}</b>"
    )
    return ngettext(
        "#%(id)s %(book)s: %(count)s reader",
        "#%(id)s %(book)s: %(count)s readers",
        request.readers,
    ) % {"id": request.id, "book": name, "count": catalogs.number(request.readers)}


def hold_entry(hold: EndingHold) -> str:
    return _("#%(reservation)s %(book)s, until %(until)s") % {
        "reservation": hold.reservation_id,
        "book": book_name(hold.title, hold.author, NAME_UNITS),
        "until": deadline(hold.until),
    }


def failed_entry(failed: FailedMessages) -> str:
    parts = []
    if failed.undelivered:
        parts.append(
            ngettext("%(count)s failed", "%(count)s failed", failed.undelivered)
            % {"count": catalogs.number(failed.undelivered)}
        )
    if failed.unreachable:
        parts.append(
            ngettext(
                "%(count)s to a reader who blocked the bot",
                "%(count)s to readers who blocked the bot",
                failed.unreachable,
            )
            % {"count": catalogs.number(failed.unreachable)}
        )
    return f"{kind_name(failed.kind)}: {', '.join(parts)}"


def kind_name(kind: str) -> str:
    """As /deliveries names it; its code for a kind it doesn't name."""
    return message_kind(kind) if kind in MESSAGE_KINDS else escape(kind)
