"""/deliveries: how a book's messages to readers are going since its restock (or its
withdrawal)."""

from datetime import datetime

from bot.i18n.catalogs import N_, _
from bot.notifications.models import NotificationKind
from bot.notifications.schemas import DeliveryReport
from bot.telegram.texts.formatting import book_name, moment

MESSAGE_KINDS = {
    NotificationKind.BACK_IN_STOCK.value: N_("📚 Back in stock"),
    NotificationKind.HOLD_OFFER.value: N_("📦 Copies set aside"),
    NotificationKind.HOLD_REMINDER.value: N_("⏰ Pickup reminders"),
    NotificationKind.HOLD_EXPIRED.value: N_("⌛ Holds not collected in time"),
    NotificationKind.WITHDRAWN.value: N_("📕 Withdrawal notices"),
    NotificationKind.LAPSED.value: N_("🗓 Reservations no longer needed"),
    NotificationKind.PLACE_UPDATE.value: N_("📈 Place updates"),
    NotificationKind.ORDERED.value: N_("📦 Special orders ordered"),
    NotificationKind.DECLINED.value: N_("📭 Special orders declined"),
    NotificationKind.DIGEST.value: N_("📰 Staff digests"),
}


def delivery_report(report: DeliveryReport, paused_since: datetime | None = None) -> str:
    name = f"#{report.book_id} {book_name(report.title, report.author)}"
    if report.restocked_at is None:
        return _("No restock of %(book)s has notified anyone yet.") % {"book": name}
    since = (
        _("Messages about %(book)s since its withdrawal %(moment)s:")
        if report.withdrawal
        else _("Messages about %(book)s since its restock %(moment)s:")
    )
    text = since % {"book": name, "moment": moment(report.restocked_at)}
    for counts in report.kinds:
        text += f"\n\n<b>{message_kind(counts.kind)}</b>\n" + _(
            "✅ sent: %(sent)s\n⏳ pending: %(pending)s\n❌ failed: %(failed)s"
        ) % {"sent": counts.sent, "pending": counts.pending, "failed": counts.failed}
        if counts.obsolete:
            text += "\n" + _("🚫 not sent, the hold had ended: %(obsolete)s") % {
                "obsolete": counts.obsolete
            }
    if paused_since is not None:
        text += "\n\n" + _("⏸ paused: Telegram unreachable since %(moment)s") % {
            "moment": moment(paused_since)
        }
    return text


def message_kind(kind: str) -> str:
    """A kind of message (NotificationKind's value), as /deliveries names it."""
    return _(MESSAGE_KINDS[kind])
