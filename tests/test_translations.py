"""The catalogs: every text the bot marks is translated in full, each translation keeps
its text's placeholders and HTML, and every text fits Telegram's limits in every language
with the longest values there are."""

import ast
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations

from bot import cli_texts
from bot.books.errors import (
    AlreadyWithdrawn,
    BookFieldInvalid,
    BookNotFound,
    BookWithdrawn,
    DuplicateBook,
    MalformedRow,
    QuantityOutOfRange,
    RepeatedInFile,
    SearchTooLong,
    WithdrawalReasonInvalid,
)
from bot.books.models import AUTHOR_MAX_LENGTH, TITLE_MAX_LENGTH
from bot.books.rules import SEARCH_MAX_LENGTH, WITHDRAWAL_REASON_MAX_LENGTH
from bot.books.schemas import BookPage, BookView, ImportReport, RejectedRow
from bot.books.service import BOOKS_PAGE_SIZE
from bot.cards.schemas import (
    BookCard,
    BookInLine,
    NoReservation,
    Notified,
    OnHold,
    Paused,
    ReaderStatus,
    Waiting,
)
from bot.database import MAX_ID
from bot.demand.schemas import BookDemand, DemandReport
from bot.errors import DomainError
from bot.holds.errors import NotOnHold, StockBelowHolds
from bot.holds.schemas import Collection, HoldEntry, HoldsReport, LineRestock
from bot.i18n import catalogs, languages
from bot.line.pages import REQUESTS_SHOWN, RESERVATIONS_PAGE_SIZE
from bot.line.pause import PauseChange
from bot.notifications.messages import LapsedWait, SpecialOrderNews
from bot.notifications.models import NotificationKind
from bot.notifications.schemas import DeliveryReport, KindCounts
from bot.reservations.errors import (
    AlreadyWaiting,
    BookInStock,
    DayPassed,
    NotCancellable,
    NotPausable,
    NotPaused,
    ReservationEnded,
    ReservationNotFound,
    ResumeDayNotAhead,
    TooManyReservations,
)
from bot.reservations.models import ReservationStatus
from bot.reservations.schemas import (
    Cancellation,
    Confirmation,
    RequestLine,
    RequestWithdrawal,
    ReservationPage,
    ReservationView,
)
from bot.restocks.schemas import Restock, Withdrawal
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
from bot.special_orders.schemas import (
    DeclineReport,
    OpenRequest,
    OrderReport,
    Requested,
    RequestsPage,
)
from bot.special_orders.service import DECLINE_REASON_MAX_LENGTH, REQUESTS_PAGE_SIZE
from bot.telegram import deep_links, keyboards
from bot.telegram.application import reader_commands
from bot.telegram.bad_input import BadInput, InvalidButton, NotADay, NotPrivateChat, UsageError
from bot.telegram.command_menu import commands_for
from bot.telegram.lengths import (
    CALLBACK_ANSWER_LIMIT,
    COMMAND_DESCRIPTION_LIMIT,
    utf16_length,
)
from bot.telegram.texts import (
    cards,
    commands,
    deliveries,
    formatting,
    needed_until,
    refusals,
    reservations,
    staff,
    withdrawals,
)
from bot.telegram.texts import catalog as catalog_texts
from bot.telegram.texts import demand as demand_texts
from bot.telegram.texts import holds as holds_texts
from bot.telegram.texts import language as language_texts
from bot.telegram.texts import pause as pause_texts
from bot.telegram.texts import place_updates as place_texts
from bot.telegram.texts import special_orders as special_texts
from bot.users.errors import NotAnAdmin
from tests.test_lengths import telegram_accepts

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [language for language in languages.SUPPORTED if language != languages.DEFAULT]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TAG = re.compile(r"</?([a-z-]+)[^>]*>")
# Plain text, never parsed as HTML: Telegram shows command descriptions as they are.
PLAIN = {*commands.READER_COMMANDS.values(), *commands.ADMIN_COMMANDS.values()}


def marked_texts() -> set[str | tuple[str, ...]]:
    """Every text marked for translation in bot/, read from the sources now (not from
    the template), so a text added without updating the catalogs fails here."""
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = extract_from_dir(ROOT / "bot", [("**.py", "python")], keywords=keywords)
    return {message for _, _, message, _, _ in found}


def catalog(language: str) -> Catalog:
    path = catalogs.LOCALES / language / "LC_MESSAGES" / f"{catalogs.DOMAIN}.po"
    with path.open("rb") as file:
        return read_po(file, locale=language)


def translations_of(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def forms(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A message's forms: one, or one for each plural."""
    if text is None:
        return ()
    return (text,) if isinstance(text, str) else tuple(text)


def filled(text: str) -> str:
    return PLACEHOLDER.sub("x", text)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_is_translated(language: str) -> None:
    translated = catalog(language)
    missing = []
    for text in marked_texts():
        message = translated.get(text[0] if isinstance(text, tuple) else text)
        strings = () if message is None or message.fuzzy else forms(message.string)
        if not all(strings) or len(strings) != (
            translated.num_plurals if isinstance(text, tuple) else 1
        ):
            missing.append(text)
    assert not missing, f"untranslated in {language} (python3 dev.py translations): {missing}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    translated = catalog(language)
    assert not [(message.id, errors) for message, errors in translated.check()]
    for message in translations_of(translated):
        wanted = Counter(PLACEHOLDER.findall(forms(message.id)[-1]))
        for string in forms(message.string):
            assert Counter(PLACEHOLDER.findall(string)).keys() == wanted.keys(), message.id
            # Nothing else that % formatting would take for a placeholder.
            assert "%" not in PLACEHOLDER.sub("", string), string


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_html(language: str) -> None:
    for message in translations_of(catalog(language)):
        if message.id in PLAIN:
            continue
        tags = TAG.findall(forms(message.id)[0])
        for string in forms(message.string):
            assert TAG.findall(string) == tags, string
            assert telegram_accepts(filled(string)), string


@pytest.mark.parametrize("language", languages.SUPPORTED)
def test_every_catalog_is_compiled_with_the_package(language: str) -> None:
    """pip install (setup.py) compiled them; English, the source, may have no .mo."""
    found = catalogs.translations(language)
    assert isinstance(found, Translations) or language == languages.DEFAULT
    # Compiled from these sources, not an older version of them.
    stale = [
        message.id
        for message in translations_of(catalog(language))
        if isinstance(message.id, str)
        and message.string
        and found.gettext(message.id) != message.string
    ]
    assert not stale, "run: python3 dev.py translations"


# The longest values there are: titles and authors of characters outside the BMP.
LONG_TITLE = "\N{MATHEMATICAL FRAKTUR CAPITAL A}" * TITLE_MAX_LENGTH
LONG_AUTHOR = "<&>" + "\N{MATHEMATICAL FRAKTUR CAPITAL W}" * (AUTHOR_MAX_LENGTH - 3)
LONG_QUERY = "\N{MATHEMATICAL FRAKTUR CAPITAL Y}" * SEARCH_MAX_LENGTH
BOOK = BookView(MAX_ID, LONG_TITLE, LONG_AUTHOR, 0)
IN_STOCK = BookView(MAX_ID, LONG_TITLE, LONG_AUTHOR, 1_000_000)
NOW = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
LONG_REASON = "<&>" + "\N{MATHEMATICAL FRAKTUR CAPITAL Y}" * (WITHDRAWAL_REASON_MAX_LENGTH - 3)
WITHDRAWN = replace(BOOK, withdrawn_reason=LONG_REASON)
WITHDRAWN_IN_STOCK = replace(IN_STOCK, withdrawn_reason=LONG_REASON)


def reservation(status: ReservationStatus) -> ReservationView:
    return ReservationView(MAX_ID, MAX_ID, LONG_TITLE, LONG_AUTHOR, status, NOW, NOW, NOW)


BOOK_PAGE = BookPage((BOOK,) * BOOKS_PAGE_SIZE, MAX_ID, MAX_ID, MAX_ID, LONG_QUERY, True)
RESERVATIONS = ReservationPage(
    tuple(reservation(status) for status in ReservationStatus)
    + (reservation(ReservationStatus.WAITING),) * (RESERVATIONS_PAGE_SIZE - 3),
    MAX_ID,
    MAX_ID,
    MAX_ID,
)
REFUSALS: list[DomainError | BadInput] = [
    BookNotFound(MAX_ID),
    BookInStock(IN_STOCK),
    AlreadyWaiting(BOOK),
    # Each plural form (one; two to four; five and more in Russian) and the longest.
    *(TooManyReservations(limit) for limit in (1, 2, 5, MAX_ID)),
    ReservationNotFound(MAX_ID),
    NotCancellable(reservation(ReservationStatus.CANCELLED)),
    NotCancellable(reservation(ReservationStatus.NOTIFIED)),
    NotCancellable(reservation(ReservationStatus.LAPSED)),
    # The longest day there is in every language: a Wednesday in September.
    DayPassed(date(2026, 9, 30), date(2026, 9, 30)),
    ReservationEnded(reservation(ReservationStatus.LAPSED)),
    NotAnAdmin(),
    QuantityOutOfRange(1_000_000),
    BookFieldInvalid("title", TITLE_MAX_LENGTH),
    BookFieldInvalid("author", AUTHOR_MAX_LENGTH),
    DuplicateBook(MAX_ID, LONG_TITLE, LONG_AUTHOR),
    RepeatedInFile(MAX_ID),
    MalformedRow(MAX_ID),
    SearchTooLong(SEARCH_MAX_LENGTH),
    *(UsageError(command) for command in [*refusals.USAGE, "unknown"]),
    NotPrivateChat(),
    InvalidButton(),
    BookWithdrawn(WITHDRAWN),
    AlreadyWithdrawn(WITHDRAWN, NOW),
    WithdrawalReasonInvalid(WITHDRAWAL_REASON_MAX_LENGTH),
]


ROW_ERRORS = (MalformedRow(MAX_ID), RepeatedInFile(MAX_ID), QuantityOutOfRange(1_000_000))


def messages() -> list[str]:
    """Every message the bot sends, in the active language, at its longest."""
    return [
        commands.welcome(LONG_TITLE[:64], is_admin=True),
        commands.welcome(None, is_admin=False),
        commands.help_text(is_admin=True),
        commands.unknown_command(),
        commands.not_a_command(),
        language_texts.language_prompt(),
        language_texts.language_chosen(),
        catalog_texts.book_page(BOOK_PAGE),
        catalog_texts.book_page(BookPage((), 1, 1, 0, LONG_QUERY)),
        catalog_texts.book_page(BookPage((), 1, 1, 0, None)),
        catalog_texts.book_page(BookPage((IN_STOCK,), 1, 1, 1, None))
        + "\n\n"
        # the reply of a search too long for the buttons
        + catalog_texts.search_unpaged(BOOK_PAGE),
        reservations.reserved(Confirmation(MAX_ID, BOOK, MAX_ID)),
        reservations.reserved(Confirmation(MAX_ID, BOOK, 1)),
        reservations.reserved(Confirmation(MAX_ID, BOOK, MAX_ID, EXPECTED_ON)),
        reservations.reservation_page(RESERVATIONS),
        reservations.reservation_page(ReservationPage((), 1, 1, 0)),
        reservations.cancelled(
            Cancellation(reservation(ReservationStatus.CANCELLED), RESERVATIONS)
        ),
        staff.restocked(Restock(IN_STOCK, 0, 1_000_000, 1000)),
        staff.restocked(Restock(IN_STOCK, 0, 1, 1)),
        staff.restocked(Restock(IN_STOCK, 0, 1, 0)),
        staff.restocked(Restock(IN_STOCK, 1, 0, 0)),
        staff.book_added(IN_STOCK),
        reservations.back_in_stock(IN_STOCK),
        deliveries.delivery_report(report(NOW), paused_since=NOW),
        deliveries.delivery_report(report(NOW)),
        deliveries.delivery_report(report(None)),
        *(refusals.refusal(error) for error in REFUSALS),
        refusals.something_went_wrong(),
        refusals.temporarily_unavailable(),
        *hold_card_and_demand_messages(),
        *withdrawal_messages(),
        *pause_messages(),
        place_texts.place_update(LONG_TITLE, LONG_AUTHOR, MAX_ID, MAX_ID),
        place_texts.updates_chosen(True, True),
        place_texts.updates_chosen(True, False),
        *needed_until_messages(),
        *special_order_messages(),
    ]


def needed_until_messages() -> list[str]:
    """/until's answers and the lapsed reservation's message, at their longest."""
    waiting = replace(IN_LINE, needed_until=EXPECTED_ON)
    return [
        needed_until.needed_until_set(waiting),
        needed_until.needed_until_set(replace(HELD, needed_until=EXPECTED_ON)),
        needed_until.needed_until_set(replace(waiting, needed_until=None)),
        needed_until.lapsed(LapsedWait(MAX_ID, MAX_ID, LONG_TITLE, LONG_AUTHOR, EXPECTED_ON)),
        reservations.reservation_page(ReservationPage((waiting,) * 5, MAX_ID, MAX_ID, MAX_ID)),
    ]


# Holds, cards and the demand report at their longest: Telegram's longest names (64
# units) and usernames (32), a thousand holds, numbers past a billion.
LONG_NAME = LONG_TITLE[:32]
LONG_USERNAME = "u" * 32
BIG = 1_000_000_000
HOLDS = (
    *(HoldEntry(MAX_ID, LONG_NAME, None, NOW) for _ in range(1000)),
    HoldEntry(MAX_ID, None, LONG_USERNAME, NOW),
    HoldEntry(MAX_ID, None, None, NOW),
)
HELD = ReservationView(
    MAX_ID, MAX_ID, LONG_TITLE, LONG_AUTHOR, ReservationStatus.ON_HOLD, NOW, NOW, None, NOW
)
# The longest date in every language: September, the 30th.
EXPECTED_ON = date(2026, 9, 30)
IN_LINE = replace(
    reservation(ReservationStatus.WAITING), place_in_line=MAX_ID, expected_on=EXPECTED_ON
)
HOLD_PAGE = ReservationPage((HELD, IN_LINE) * 2 + (HELD,), MAX_ID, MAX_ID, MAX_ID)
CARD_STATES: tuple[ReaderStatus, ...] = (
    NoReservation(),
    Waiting(MAX_ID, 1, NOW),
    Waiting(MAX_ID, MAX_ID, NOW),
    Waiting(MAX_ID, MAX_ID, NOW, EXPECTED_ON),
    Paused(MAX_ID, MAX_ID),
    Paused(MAX_ID, MAX_ID, EXPECTED_ON),
    Notified(MAX_ID, NOW),
    OnHold(MAX_ID, NOW),
)
CARDS = tuple(
    BookCard(book, state, waiting, on_hold, paused)
    for book in (BOOK, IN_STOCK)
    for state in CARD_STATES
    for on_hold in (0, 1, book.stock_quantity)
    # Readers paused beside the waiting ones (nobody waiting, or the longest line).
    for waiting, paused in ((MAX_ID, 0), (0, 1), (MAX_ID, 2), (MAX_ID, 5), (MAX_ID, MAX_ID))
)
LINK = deep_links.book_link(LONG_USERNAME, MAX_ID)


def demand(holds: bool, paused: int = 0) -> DemandReport:
    outcomes = ("set_aside", "collected", "released", "expired", "cancelled", "lapsed")
    # What to order at its longest: a ratio past a billion with a decimal, an order past a
    # billion, a median of many days; and none (no copies, no hold ended) every other book.
    books = tuple(
        BookDemand(
            replace(IN_STOCK, stock_quantity=7) if n % 2 else BOOK,
            BIG,
            NOW if n % 2 else None,
            (BIG,) * len(outcomes),
            BIG,
            paused,
            holds_ended=3 * BIG if n % 2 else 0,
            collected=BIG,
            median_to_collect=timedelta(days=BIG / 7) if n % 2 else None,
            suggested_order=BIG,
        )
        for n in range(demand_texts.DEMAND_LISTED + 5)
    )
    if holds:
        return DemandReport(books, outcomes, MAX_ID, NOW, holds=True, hold_ratio_target=2.5)
    return DemandReport(
        tuple(replace(book, recent=(BIG, BIG, BIG)) for book in books),
        ("told", "cancelled", "lapsed"),
        30,
        NOW,
        hold_ratio_target=1234.5,
    )


# Open special orders at their longest: the longest title and author, an ISBN, readers
# past a billion; more than are listed; and one without an author, of each plural form.
OPEN_REQUESTS = (
    *(
        OpenRequest(MAX_ID, LONG_TITLE, LONG_AUTHOR, "9780156027601", BIG, NOW)
        for _ in range(demand_texts.REQUESTS_LISTED + 5)
    ),
)
FEW_REQUESTS = tuple(
    OpenRequest(MAX_ID, LONG_TITLE, None, None, readers, NOW) for readers in (1, 2, 5)
)


def hold_card_and_demand_messages() -> list[str]:
    return [
        holds_texts.hold_offer(LONG_TITLE, LONG_AUTHOR, MAX_ID, NOW),
        holds_texts.hold_reminder(LONG_TITLE, LONG_AUTHOR, MAX_ID, NOW),
        holds_texts.hold_expired(LONG_TITLE, LONG_AUTHOR, MAX_ID, NOW),
        staff.restock_report(LineRestock(IN_STOCK, BIG, BIG, BIG, BIG * 2, line_longer=True)),
        staff.restock_report(LineRestock(IN_STOCK, BIG, BIG, 0, BIG, line_longer=True)),
        staff.restock_report(LineRestock(IN_STOCK, 0, BIG, 0, 0)),
        holds_texts.collected(Collection(MAX_ID, IN_STOCK)),
        holds_texts.holds_report(HoldsReport(IN_STOCK, HOLDS, BIG, BIG, line_longer=True)),
        holds_texts.holds_report(HoldsReport(IN_STOCK, (), 0, 0)),
        holds_texts.holds_report(
            HoldsReport(IN_STOCK, HOLDS, BIG, BIG, True, paused=BIG, paused_longer=True)
        ),
        refusals.refusal(StockBelowHolds(IN_STOCK, HOLDS)),
        refusals.refusal(NotOnHold(MAX_ID, None)),
        *(refusals.refusal(NotOnHold(MAX_ID, status)) for status in ReservationStatus),
        reservations.reservation_page(HOLD_PAGE),
        reservations.cancelled(Cancellation(HELD, HOLD_PAGE)),
        *(cards.book_card(card, LINK) for card in CARDS),
        staff.book_added(IN_STOCK) + "\n" + cards.book_link_line(LINK),
        cards.inline_card(BookInLine(IN_STOCK, BIG, BIG)),
        cards.inline_card(BookInLine(BOOK, BIG)),
        demand_texts.demand_report(demand(holds=True)),
        demand_texts.demand_report(demand(holds=False)),
        # Readers paused beside the waiting ones: each plural form, and past a billion.
        *(
            demand_texts.demand_report(demand(holds, paused))
            for holds in (True, False)
            for paused in (1, 2, 5, BIG)
        ),
        demand_texts.demand_report(DemandReport((), (), MAX_ID, NOW)),
        *(
            demand_texts.demand_report(replace(report, open_requests=requests))
            for report in (
                demand(holds=True),
                demand(holds=False, paused=BIG),
                DemandReport((), (), MAX_ID, NOW),
            )
            for requests in (OPEN_REQUESTS, FEW_REQUESTS)
        ),
    ]


def withdrawal_messages() -> list[str]:
    """/withdraw's answers, the readers' notice and the withdrawn book wherever it is shown,
    with the longest reason."""
    cancelled = replace(reservation(ReservationStatus.CANCELLED), cancel_reason=LONG_REASON)
    return [
        *(
            withdrawals.withdrawal_report(Withdrawal(WITHDRAWN, cancelled, on_hold))
            for cancelled in (0, 1, 2, 5, BIG)
            for on_hold in (0, 1, 2, 5, BIG)
        ),
        withdrawals.withdrawn_notice(WITHDRAWN),
        staff.restock_report(Restock(IN_STOCK, 0, 1_000_000, 1000, reinstated=True)),
        staff.restock_report(LineRestock(IN_STOCK, BIG, BIG, BIG, BIG * 2, True, True)),
        catalog_texts.book_page(replace(BOOK_PAGE, books=(WITHDRAWN,) * BOOKS_PAGE_SIZE)),
        catalog_texts.book_page(replace(BOOK_PAGE, books=(WITHDRAWN_IN_STOCK,) * BOOKS_PAGE_SIZE)),
        reservations.reservation_page(replace(RESERVATIONS, reservations=(cancelled,) * 5)),
        *(
            cards.book_card(BookCard(book, state, MAX_ID, on_hold), LINK)
            for book in (WITHDRAWN, WITHDRAWN_IN_STOCK)
            for state in CARD_STATES
            for on_hold in (0, 1)
        ),
        cards.inline_card(BookInLine(WITHDRAWN_IN_STOCK, BIG, 1)),
        cards.inline_card(BookInLine(WITHDRAWN, BIG)),
        deliveries.delivery_report(
            DeliveryReport(
                MAX_ID,
                LONG_TITLE,
                LONG_AUTHOR,
                NOW,
                # The notices, and the messages of the holds left in place.
                tuple(
                    KindCounts(kind.value, BIG, BIG, BIG, BIG)
                    for kind in (
                        NotificationKind.WITHDRAWN,
                        NotificationKind.HOLD_OFFER,
                        NotificationKind.HOLD_REMINDER,
                        NotificationKind.HOLD_EXPIRED,
                    )
                ),
                withdrawal=True,
            ),
            paused_since=NOW,
        ),
    ]


def report(restocked_at: datetime | None) -> DeliveryReport:
    return DeliveryReport(
        MAX_ID,
        LONG_TITLE,
        LONG_AUTHOR,
        restocked_at,
        tuple(
            KindCounts(kind.value, 1_000_000, 1_000_000, 1_000_000, 1_000_000)
            for kind in NotificationKind
        ),
    )


@pytest.mark.parametrize("language", languages.SUPPORTED)
def test_every_message_fits_in_every_language(language: str) -> None:
    with languages.speaking(language):
        rendered = messages()
        alerts = [formatting.as_plain(text) for text in rendered]
        answers = [
            reservations.reserved_short(Confirmation(MAX_ID, BOOK, MAX_ID)),
            reservations.cancelled_short(),
            language_texts.language_chosen_short(),
            pause_texts.paused_short(),
            pause_texts.resumed_short(),
            needed_until.needed_until_short(replace(IN_LINE, needed_until=EXPECTED_ON)),
            needed_until.needed_until_short(IN_LINE),
            place_texts.stopped_short(),
        ]
        labels = [
            button.text
            for keyboard in (
                keyboards.books_keyboard(BOOK_PAGE),
                keyboards.reservations_keyboard(RESERVATIONS),
                keyboards.reservations_keyboard(HOLD_PAGE),
                keyboards.languages_keyboard(),
                keyboards.until_keyboard(MAX_ID),
                *(keyboards.card_keyboard(card) for card in CARDS),
                keyboards.inline_result_keyboard(LINK),
                keyboards.inline_result_keyboard(LINK, WITHDRAWN),
            )
            if keyboard is not None
            for row in keyboard.inline_keyboard
            for button in row
        ] + [place_texts.stop_button()]
        menu = commands_for(commands.READER_COMMANDS, commands.ADMIN_COMMANDS)
        terminal = cli_texts.import_report(
            ImportReport(MAX_ID, tuple(RejectedRow(MAX_ID, error) for error in ROW_ERRORS))
        )
    refused = [text for text in rendered if not telegram_accepts(text)]
    assert not refused
    # An alert is the refusal cut to 200 units: it must still say something.
    assert all(alert.strip() for alert in alerts)
    assert all(1 <= utf16_length(answer) <= CALLBACK_ANSWER_LIMIT for answer in answers)
    assert "Prev" in str(labels) or language != languages.DEFAULT
    assert all(1 <= utf16_length(label) <= formatting.BUTTON_LABEL_LENGTH for label in labels)
    for command in menu:
        assert 1 <= utf16_length(command.description) <= COMMAND_DESCRIPTION_LIMIT
    assert terminal.count("\n") == 4


def test_each_language_has_its_own_words() -> None:
    """Not English under another name: the catalogs are what is shown."""
    rendered = {}
    for language in languages.SUPPORTED:
        with languages.speaking(language):
            rendered[language] = (messages(), reader_commands())
    assert len({str(words) for words in rendered.values()}) == len(languages.SUPPORTED)


MARKING = {"_", "ngettext", "N_"}
WORDS = re.compile(r"[A-Za-z]{2,}")


def unmarked_words(path: Path) -> list[tuple[int, str]]:
    """English in string literals outside _, ngettext and N_: a text the catalogs miss.
    Docstrings, dict keys (command names, placeholder names) and comparisons are code."""
    tree = ast.parse(path.read_text())
    code: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in MARKING:
            code.update(id(inner) for inner in ast.walk(node))
        elif isinstance(node, ast.Dict):
            code.update(id(inner) for key in node.keys if key for inner in ast.walk(key))
        elif isinstance(node, ast.Compare):
            code.update(id(inner) for inner in ast.walk(node))
        elif isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                code.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in code
        and WORDS.search(node.value)
    ]


# The chat's texts with the words of the command line, the shelf tags and /demand's files;
# and the buttons.
WORDED_MODULES = {
    "texts": [
        *sorted((ROOT / "bot" / "telegram" / "texts").glob("*.py")),
        ROOT / "bot" / "cli_texts.py",
        ROOT / "bot" / "shelf_tags" / "texts.py",
        ROOT / "bot" / "demand" / "labels.py",
    ],
    "keyboards": [ROOT / "bot" / "telegram" / "keyboards.py"],
}


@pytest.mark.parametrize("modules", WORDED_MODULES)
def test_every_text_is_marked_for_translation(modules: str) -> None:
    """A text added in English only (an f-string, say) fails here: wrap it in _() with
    %(name)s placeholders, then run python3 dev.py translations."""
    unmarked = [
        (path.name, line, text)
        for path in WORDED_MODULES[modules]
        for line, text in unmarked_words(path)
    ]
    assert unmarked == []


def test_no_refused_error_is_a_kind_of_another() -> None:
    """refusal() finds an error's words by its class, then its bases: were one listed error
    a subclass of another, which words it gets would hang on the order of its bases."""
    kinds = list(refusals.REFUSALS)
    assert [(a, b) for a in kinds for b in kinds if a is not b and issubclass(a, b)] == []


# Paused at the far end of the line, until the longest date in every language.
PAUSED = replace(
    reservation(ReservationStatus.PAUSED),
    place_in_line=MAX_ID,
    paused_at=NOW,
    resume_on=EXPECTED_ON,
)


def pause_messages() -> list[str]:
    page = ReservationPage((PAUSED, replace(PAUSED, resume_on=None)) * 2 + (PAUSED,), 1, 1, 5)
    changes = [
        PauseChange(replace(PAUSED, status=status), page)
        for status in (
            ReservationStatus.PAUSED,
            ReservationStatus.WAITING,
            ReservationStatus.ON_HOLD,
            ReservationStatus.NOTIFIED,
        )
    ]
    errors: list[DomainError | BadInput] = [
        *(NotPausable(reservation(status)) for status in ReservationStatus),
        *(NotPaused(reservation(status)) for status in ReservationStatus),
        ResumeDayNotAhead(EXPECTED_ON, EXPECTED_ON),
        NotADay("pause", LONG_QUERY),
    ]
    return [
        *(pause_texts.paused(change) for change in changes[:1]),
        pause_texts.paused(replace(changes[0], reservation=replace(PAUSED, resume_on=None))),
        *(pause_texts.resumed(change) for change in changes[1:]),
        reservations.reservation_page(page),
        *(refusals.refusal(error) for error in errors),
    ]


def special_order_messages() -> list[str]:
    """Special orders (issue 22): the reader's answers and notices, their requests in
    /myreservations, staff's /requests and reports, and the refusals, at their longest."""
    longest = [(LONG_TITLE, LONG_AUTHOR), (LONG_TITLE, None)]
    reason = "<&>" + "\N{MATHEMATICAL FRAKTUR CAPITAL W}" * (DECLINE_REASON_MAX_LENGTH - 3)
    lines = [
        RequestLine(
            MAX_ID, title, author, "9780441013593", status, NOW, MAX_ID, EXPECTED_ON, reason
        )
        for title, author in longest
        for status in ("open", "ordered", "declined")
    ]
    page = replace(RESERVATIONS, requests=tuple(lines * 4)[:REQUESTS_SHOWN])
    open_requests = tuple(
        OpenRequest(MAX_ID, title, author, "9780441013593", BIG, NOW)
        for title, author in longest * 3
    )[:REQUESTS_PAGE_SIZE]
    return [
        *(
            special_texts.requested(Requested(MAX_ID, title, author, None, place))
            for title, author in longest
            for place in (1, BIG)
        ),
        *(
            special_texts.ordered_notice(SpecialOrderNews(MAX_ID, title, author, EXPECTED_ON))
            for title, author in longest
        ),
        *(
            special_texts.declined_notice(SpecialOrderNews(MAX_ID, title, author, None, reason))
            for title, author in longest
        ),
        reservations.reservation_page(page),
        reservations.reservation_page(replace(page, reservations=(), total=0)),
        special_texts.request_withdrawn(RequestWithdrawal(MAX_ID, LONG_TITLE, page)),
        special_texts.requests_page(RequestsPage(open_requests, MAX_ID, True)),
        special_texts.requests_page(RequestsPage((), 1, False)),
        *(
            special_texts.order_report(
                OrderReport(MAX_ID, MAX_ID, LONG_TITLE, LONG_AUTHOR, count, count, EXPECTED_ON)
            )
            for count in (0, 1, 2, 5, BIG)
        ),
        *(
            special_texts.decline_report(DeclineReport(MAX_ID, title, author, count))
            for title, author in longest
            for count in (0, 1, 2, 5, BIG)
        ),
        *(
            refusals.refusal(error)
            for error in (
                AlreadyRequested(MAX_ID, LONG_TITLE, LONG_AUTHOR),
                *(TooManyRequests(limit) for limit in (1, 2, 5, MAX_ID)),
                RequestFieldInvalid("title", TITLE_MAX_LENGTH),
                RequestFieldInvalid("author", AUTHOR_MAX_LENGTH),
                RequestNotFound(MAX_ID),
                RequestDecided(MAX_ID, "ordered"),
                RequestDecided(MAX_ID, "declined"),
                ExpectedDayPassed("2026-09-30"),
                AuthorUnknown(MAX_ID, "9780441013593"),
                DeclineReasonInvalid(DECLINE_REASON_MAX_LENGTH),
                *(
                    OrderedBookInStock(MAX_ID, MAX_ID, LONG_TITLE, LONG_AUTHOR, free)
                    for free in (1, 2, 5, BIG)
                ),
            )
        ),
    ]
