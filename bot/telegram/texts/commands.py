"""The bot's commands as a reader first meets them: /start's greeting, /help, the
descriptions in Telegram's command menus, and the answer to what I don't understand."""

from html import escape

from bot.i18n.catalogs import N_, _

READER_COMMANDS = {
    "books": N_("browse the catalog (or /books <text> to search)"),
    "search": N_("find books by title or author"),
    "reserve": N_("wait for an out-of-stock book: /reserve <book id>"),
    "myreservations": N_("see your reservations"),
    "cancel": N_("cancel a reservation: /cancel <reservation id>"),
    "pause": N_("pause a reservation, keeping your place: /pause <reservation id> [YYYY-MM-DD]"),
    "resume": N_("resume a paused reservation: /resume <reservation id>"),
    "until": N_("only needed until a day: /until <reservation id> <YYYY-MM-DD> or never"),
    "help": N_("show this list"),
    "book": N_("a book's card, to reserve or share it: /book <book id>"),
    "language": N_("choose the language I speak with you"),
    "updates": N_("news of your place in line: /updates on or /updates off"),
    "request": N_("ask the shop for a book it lacks: /request <ISBN> or <title> | <author>"),
    "unrequest": N_("withdraw one of your requests: /unrequest <request id>"),
}
ADMIN_COMMANDS = {
    "restock": N_("set a book's stock: /restock <book id> <quantity>"),
    "addbook": N_("add a book: /addbook <ISBN> or /addbook <title> | <author> | <quantity>"),
    "deliveries": N_("how a book's messages to readers are going: /deliveries <book id>"),
    "collected": N_("a reader took their held copy: /collected <reservation id>"),
    "holds": N_("a book's copies on hold and its line: /holds <book id>"),
    "withdraw": N_("withdraw a book, cancelling its line: /withdraw <book id> <reason>"),
    "requests": N_("readers' requests for books the shop lacks, most wanted first"),
    "order": N_("order a request's book: /order <request id> [ISBN] [YYYY-MM-DD]"),
    "decline": N_("decline a request, telling its readers: /decline <request id> <reason>"),
    "demand": N_("which books readers wait for most, with a chart and a CSV"),
    "digest": N_("the staff digest now: what to order, special orders, holds, failed messages"),
}


def welcome(first_name: str | None, is_admin: bool) -> str:
    greeting = _("Hello, %(name)s!") % {"name": escape(first_name)} if first_name else _("Hello!")
    return (
        greeting
        + " "
        + _(
            "I keep your place in line for books that are sold out, and I message "
            "you the moment one is back on the shelf."
        )
        + "\n\n"
        + help_text(is_admin)
    )


def help_text(is_admin: bool) -> str:
    lines = [_("<b>What I can do</b>")]
    lines += [f"/{name} — {escape(_(what))}" for name, what in READER_COMMANDS.items()]
    if is_admin:
        lines += ["", _("<b>For staff</b>")]
        lines += [f"/{name} — {escape(_(what))}" for name, what in ADMIN_COMMANDS.items()]
    return "\n".join(lines)


def unknown_command() -> str:
    return _("I don't know that command. Send /help to see what I can do.")


def not_a_command() -> str:
    return _("I understand commands only. Send /books to browse, or /help for the list.")
