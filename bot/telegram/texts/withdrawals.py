"""/withdraw: staff's answer, the notice each reader of the book's line gets, the book
shown as withdrawn wherever its availability is, and the refusals."""

from html import escape

from bot.books.errors import AlreadyWithdrawn, BookWithdrawn, WithdrawalReasonInvalid
from bot.books.schemas import BookView
from bot.i18n.catalogs import _, ngettext
from bot.restocks.schemas import Withdrawal
from bot.telegram.texts.formatting import book_name, moment


def withdrawn_label(reason: str) -> str:
    """Beside a withdrawn book, where its availability would be."""
    return _("🚫 withdrawn: %(reason)s") % {"reason": escape(reason)}


def withdrawal_report(withdrawal: Withdrawal) -> str:
    """What /withdraw did."""
    book = withdrawal.book
    text = _("#%(id)s %(book)s is withdrawn: %(reason)s.") % {
        "id": book.id,
        "book": book_name(book.title, book.author),
        "reason": escape(book.withdrawn_reason or ""),
    }
    count = withdrawal.cancelled
    if count:
        text += " " + ngettext(
            "Cancelled %(count)s waiting or paused reservation: %(count)s message queued.",
            "Cancelled %(count)s waiting or paused reservations: %(count)s messages queued.",
            count,
        ) % {"count": count}
        text += " " + _("Follow them with /deliveries %(id)s.") % {"id": book.id}
    else:
        text += " " + _("Nobody was waiting for it.")
    if withdrawal.on_hold:
        text += " " + ngettext(
            "%(count)s copy on hold stays until collected or expired.",
            "%(count)s copies on hold stay until collected or expired.",
            withdrawal.on_hold,
        ) % {"count": withdrawal.on_hold}
    return text + " " + restock_brings_it_back()


def restock_brings_it_back() -> str:
    return _("A restock that brings copies makes it available again.")


def reinstated() -> str:
    """Under /restock's answer, when it brought a withdrawn book back."""
    return _("It is no longer withdrawn: readers may reserve it again.")


def withdrawn_notice(book: BookView) -> str:
    """The message each reader whose reservation the withdrawal cancelled gets."""
    return _(
        "📕 Sorry: %(book)s has been withdrawn (%(reason)s), so I cancelled your "
        "reservation. Send /books to find another book."
    ) % {
        "book": book_name(book.title, book.author),
        "reason": escape(book.withdrawn_reason or ""),
    }


def cancelled_because_withdrawn(reason: str) -> str:
    """Under a reservation the withdrawal cancelled, in /myreservations."""
    return _("the book was withdrawn: %(reason)s") % {"reason": escape(reason)}


def book_withdrawn(error: BookWithdrawn) -> str:
    book = error.book
    return _("%(book)s has been withdrawn (%(reason)s): it can't be reserved.") % {
        "book": book_name(book.title, book.author),
        "reason": escape(book.withdrawn_reason or ""),
    }


def already_withdrawn(error: AlreadyWithdrawn) -> str:
    book = error.book
    return (
        _("#%(id)s %(book)s is already withdrawn, since %(moment)s: %(reason)s.")
        % {
            "id": book.id,
            "book": book_name(book.title, book.author),
            "moment": moment(error.since),
            "reason": escape(book.withdrawn_reason or ""),
        }
        + " "
        + restock_brings_it_back()
    )


def withdrawal_reason_invalid(error: WithdrawalReasonInvalid) -> str:
    return _("The reason must be between 1 and %(limit)s characters.") % {"limit": error.limit}


def inline_withdrawn() -> str:
    """Under a withdrawn book's card put in a chat by inline search."""
    return _("It has been withdrawn and can't be reserved.")


def inline_open_button() -> str:
    """The link into the bot under a withdrawn book's inline card."""
    return _("Open in the bot")
