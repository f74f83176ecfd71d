"""What the command line prints, plain text in the operator's language (the shelf tags'
own lines are in bot/shelf_tags/texts.py)."""

from bot.books.schemas import ImportReport
from bot.i18n.catalogs import _, ngettext
from bot.telegram.texts.formatting import as_plain
from bot.telegram.texts.refusals import refusal


def import_report(report: ImportReport) -> str:
    """`bookstore-bot import`: how many books came in, and why each rejected row was."""
    lines = [
        ngettext("Imported %(count)s book.", "Imported %(count)s books.", report.imported)
        % {"count": report.imported}
    ]
    if report.rejected:
        lines.append(_("Rejected %(count)s:") % {"count": len(report.rejected)})
        lines += [
            "  "
            + _("line %(line)s: %(reason)s")
            % {"line": row.line, "reason": as_plain(refusal(row.error))}
            for row in report.rejected
        ]
    return "\n".join(lines)
