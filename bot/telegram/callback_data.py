"""The tiny text format inside inline buttons, written and parsed in one place.

Formats: `r:<book_id>` reserve, `c:<reservation_id>:<page>` cancel,
`b:<page>[:<search>]` catalog page, `m:<page>` my reservations page,
`l:<language>` the reader's language, `ps:<reservation_id>:<page>` pause,
`rs:<reservation_id>:<page>` resume, `u:<reservation_id>:<span>` only needed until
(span: 2w, 1m, 3m), `lu:off` stop the presser's place updates, `wr:<request_id>:<page>`
withdraw the reader's special order, `so:<request_id>` staff order a request,
`rq:<page>` staff's open requests page.
Clients can send any bytes back, so decoding checks everything.
"""

from dataclasses import dataclass

from bot.database import is_valid_id
from bot.i18n import languages
from bot.line.needed_until import Span
from bot.telegram.bad_input import InvalidButton

# Telegram's limit for callback_data.
MAX_BYTES = 64
MAX_PAGE = 100_000


@dataclass(frozen=True)
class ReserveButton:
    book_id: int


@dataclass(frozen=True)
class CancelButton:
    reservation_id: int
    page: int


@dataclass(frozen=True)
class PauseButton:
    reservation_id: int
    page: int


@dataclass(frozen=True)
class ResumeButton:
    reservation_id: int
    page: int


@dataclass(frozen=True)
class BooksPageButton:
    page: int
    query: str | None = None


@dataclass(frozen=True)
class ReservationsPageButton:
    page: int


@dataclass(frozen=True)
class LanguageButton:
    language: str


@dataclass(frozen=True)
class UntilButton:
    reservation_id: int
    span: Span


@dataclass(frozen=True)
class StopPlaceUpdatesButton:
    """No id: whoever presses it stops their own updates."""


@dataclass(frozen=True)
class WithdrawRequestButton:
    request_id: int
    page: int


@dataclass(frozen=True)
class OrderRequestButton:
    request_id: int


@dataclass(frozen=True)
class RequestsPageButton:
    page: int


Button = (
    ReserveButton
    | CancelButton
    | BooksPageButton
    | ReservationsPageButton
    | LanguageButton
    | PauseButton
    | ResumeButton
    | UntilButton
    | StopPlaceUpdatesButton
    | WithdrawRequestButton
    | OrderRequestButton
    | RequestsPageButton
)
SPANS = {span.value: span for span in Span}


def encode(button: Button) -> str | None:
    """The button's callback data, or None when it would not fit Telegram's 64 bytes."""
    match button:
        case ReserveButton(book_id):
            data = f"r:{book_id}"
        case CancelButton(reservation_id, page):
            data = f"c:{reservation_id}:{page}"
        case BooksPageButton(page, query):
            data = f"b:{page}" if query is None else f"b:{page}:{query}"
        case ReservationsPageButton(page):
            data = f"m:{page}"
        case LanguageButton(language):
            data = f"l:{language}"
        case PauseButton(reservation_id, page):
            data = f"ps:{reservation_id}:{page}"
        case ResumeButton(reservation_id, page):
            data = f"rs:{reservation_id}:{page}"
        case UntilButton(reservation_id, span):
            data = f"u:{reservation_id}:{span.value}"
        case StopPlaceUpdatesButton():
            data = "lu:off"
        case WithdrawRequestButton(request_id, page):
            data = f"wr:{request_id}:{page}"
        case OrderRequestButton(request_id):
            data = f"so:{request_id}"
        case RequestsPageButton(page):
            data = f"rq:{page}"
    return data if len(data.encode()) <= MAX_BYTES else None


def decode(data: object) -> Button:
    """Parse callback data from a client; raise InvalidButton for anything unexpected."""
    if not isinstance(data, str) or len(data.encode()) > MAX_BYTES:
        raise InvalidButton()
    kind, _, rest = data.partition(":")
    match kind:
        case "r":
            return ReserveButton(_id(rest))
        case "c":
            reservation_id, _, page = rest.partition(":")
            return CancelButton(_id(reservation_id), _page(page))
        case "b":
            page, separator, query = rest.partition(":")
            return BooksPageButton(_page(page), query if separator and query else None)
        case "m":
            return ReservationsPageButton(_page(rest))
        case "l" if languages.is_supported(rest):
            return LanguageButton(rest)
        case "ps" | "rs":
            reservation_id, _, page = rest.partition(":")
            button = PauseButton if kind == "ps" else ResumeButton
            return button(_id(reservation_id), _page(page))
        case "u":
            reservation_id, _, span = rest.partition(":")
            if span in SPANS:
                return UntilButton(_id(reservation_id), SPANS[span])
        case "lu" if rest == "off":
            return StopPlaceUpdatesButton()
        case "wr":
            request_id, _, page = rest.partition(":")
            return WithdrawRequestButton(_id(request_id), _page(page))
        case "so":
            return OrderRequestButton(_id(rest))
        case "rq":
            return RequestsPageButton(_page(rest))
    raise InvalidButton()


def _number(text: str) -> int:
    # isdecimal() admits other scripts' digits; only ASCII digits are ours.
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise InvalidButton()
    return int(text)


def _id(text: str) -> int:
    value = _number(text)
    if not is_valid_id(value):
        raise InvalidButton()
    return value


def _page(text: str) -> int:
    value = _number(text)
    if not 1 <= value <= MAX_PAGE:
        raise InvalidButton()
    return value
