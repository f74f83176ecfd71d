"""The Mini App's API under /app/api/: the catalog, a book, the reader's reservations,
and reserve, cancel and release, each through the very service the chat calls.

Every request carries Telegram's signed initData (`Authorization: tma <initData>`): one
without a valid one gets 401 before anything is read or written. Everything else in a
request is untrusted too: ids, page numbers and the search are checked here (400), and
the services' refusals come back as the chat words them (404, 409). An action is
confirmed in the reader's chat as well, with the message the chat's own command sends.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import InlineKeyboardMarkup
from telegram.error import TelegramError

from bot.books.errors import BookNotFound, SearchTooLong
from bot.books.rules import SEARCH_MAX_LENGTH
from bot.database import is_valid_id
from bot.errors import DomainError
from bot.i18n import languages
from bot.mini_app import views
from bot.mini_app.covers import CoverSource, generated_cover, image_type
from bot.mini_app.init_data import InitDataCheck, InitDataRefused
from bot.reservations.errors import ReservationNotFound
from bot.services import Services
from bot.telegram import keyboards
from bot.telegram.context import SERVICES, BotApplication
from bot.telegram.texts import mini_app, refusals
from bot.telegram.texts import reservations as reservation_texts
from bot.telegram.texts.formatting import as_plain
from bot.users.schemas import Reader

logger = logging.getLogger(__name__)

AUTHORIZATION_SCHEME = "tma"
# The grid's page: six rows of five covers on a wide screen, fifteen of two on a phone.
CATALOG_PAGE_SIZE = 30
# No page past this: page numbers come from the client (the chat's catalog bounds them too).
MAX_PAGE = 10_000
NOT_FOUND = (BookNotFound, ReservationNotFound)
BAD_REQUEST = (SearchTooLong,)

Handler = Callable[[Request, Reader], Awaitable[Response]]


class BadRequest(Exception):
    """A request the API cannot take as it is: what is wrong, for the client."""


class MiniAppApi:
    def __init__(
        self,
        application: BotApplication,
        check: InitDataCheck,
        covers: CoverSource | None = None,
    ) -> None:
        self._application = application
        self._check = check
        self._covers = covers

    @property
    def _services(self) -> Services:
        services: Services = self._application.bot_data[SERVICES]
        return services

    def authenticated(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """handler for the reader whose initData the request carries, in their language;
        401 for anyone else, 400 for a bad request, the service's refusal as the chat's."""

        async def endpoint(request: Request) -> Response:
            try:
                reader = self._check.reader(init_data_of(request))
            except InitDataRefused as refused:
                logger.info("Refused a Mini App request: %s", refused)
                return error(401, "unauthorized", "initData missing, forged or expired")
            try:
                chosen = await self._services.users.chosen_language(reader.telegram_id)
                with languages.speaking(chosen or reader.language or languages.DEFAULT):
                    return await answered(handler, request, reader)
            except Exception:  # a bug, or the database away: said in the reader's words
                logger.exception("A Mini App request failed")
                return error(500, "failed", refusals.something_went_wrong())

        return endpoint

    async def words(self, request: Request, reader: Reader) -> Response:
        """The page's words, in the reader's language (the bot's own catalogs)."""
        return JSONResponse({"language": languages.active(), "words": mini_app.page_words()})

    async def books(self, request: Request, reader: Reader) -> Response:
        """A page of the catalog, or of the books matching q (search as you type)."""
        page = page_number(request.query_params.get("page"))
        query = search_text(request.query_params.get("q"))
        found = await self._services.holds.list_books(page, query, CATALOG_PAGE_SIZE)
        return JSONResponse(views.page_json(found, self._covers))

    async def book(self, request: Request, reader: Reader) -> Response:
        """A book's page, with the reader's place and the one action that fits."""
        card = await self._services.cards.card(reader, path_id(request, "book_id"))
        return JSONResponse(views.card_json(card, self._covers))

    async def cover(self, request: Request, reader: Reader) -> Response:
        """The covers service's image when it has one (COVERS_URL), else the drawn one."""
        book = await self._services.books.book(path_id(request, "book_id"))
        if self._covers is not None and book.isbn is not None:
            image = await self._covers.image(book.isbn)
            kind = None if image is None else image_type(image)
            if image is not None and kind is not None:
                return Response(
                    image, media_type=kind, headers={"Cache-Control": "private, max-age=86400"}
                )
        return Response(
            generated_cover(book.title, book.author),
            media_type="image/svg+xml",
            headers={"Cache-Control": "private, max-age=86400"},
        )

    async def reservations(self, request: Request, reader: Reader) -> Response:
        """The reader's reservations and holds, newest first."""
        page = page_number(request.query_params.get("page"))
        found = await self._services.reservations.list_reservations(reader, page)
        return JSONResponse(views.reservations_json(found))

    async def reserve(self, request: Request, reader: Reader) -> Response:
        """Join the line for a sold-out book, as the chat's Reserve does."""
        book_id = path_id(request, "book_id")
        confirmation = await self._services.reservations.reserve(reader, book_id)
        text = reservation_texts.reserved(confirmation)
        await self._tell(reader, text, keyboards.until_keyboard(confirmation.reservation_id))
        card = await self._services.cards.card(reader, book_id)
        return JSONResponse(
            {"message": as_plain(text), "book": views.card_json(card, self._covers)}
        )

    async def cancel(self, request: Request, reader: Reader) -> Response:
        """Leave the line, or let a held copy go (release): the chat's Cancel, which
        passes the copy on to the next reader."""
        reservation_id = path_id(request, "reservation_id")
        cancellation = await self._services.reservations.cancel(reader, reservation_id)
        text = reservation_texts.cancelled(cancellation)
        await self._tell(reader, text)
        return JSONResponse(
            {
                "message": as_plain(text),
                "book_id": cancellation.reservation.book_id,
                "reservations": views.reservations_json(cancellation.page),
            }
        )

    async def _tell(
        self, reader: Reader, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """The action's confirmation in the reader's chat, as the chat's command sends it;
        the action stands whether or not Telegram takes the message."""
        try:
            await self._application.bot.send_message(reader.chat_id, text, reply_markup=markup)
        except (TelegramError, RuntimeError) as failed:
            logger.warning("Could not confirm a Mini App action in the chat: %s", failed)


async def answered(handler: Handler, request: Request, reader: Reader) -> Response:
    """The handler's answer; bad input 400, a service's refusal as the chat words it."""
    try:
        return await handler(request, reader)
    except BadRequest as bad:
        return error(400, "bad_request", str(bad))
    except DomainError as refused:
        status = 404 if isinstance(refused, NOT_FOUND) else 409
        if isinstance(refused, BAD_REQUEST):
            status = 400
        logger.info("Refused %s in the Mini App: %r", type(refused).__name__, refused)
        return error(status, type(refused).__name__, as_plain(refusals.refusal(refused)))


def init_data_of(request: Request) -> str:
    """The initData in `Authorization: tma <initData>`, or "" (refused as missing)."""
    scheme, _, init_data = request.headers.get("authorization", "").partition(" ")
    return init_data.strip() if scheme.lower() == AUTHORIZATION_SCHEME else ""


def page_number(text: str | None) -> int:
    if text is None or text == "":
        return 1
    if not text.isascii() or not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequest(f"page must be a whole number from 1 to {MAX_PAGE}")
    return int(text)


def search_text(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) > SEARCH_MAX_LENGTH:
        raise BadRequest(f"q must be at most {SEARCH_MAX_LENGTH} characters")
    return text


def path_id(request: Request, name: str) -> int:
    text: Any = request.path_params.get(name, "")
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 19:
        raise BadRequest(f"{name} must be a whole number")
    number = int(text)
    if not is_valid_id(number):
        raise BadRequest(f"{name} must be a whole number")
    return number


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": kind, "message": message}, status_code=status)
