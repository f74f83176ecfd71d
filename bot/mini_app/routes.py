"""The Mini App on the bot's web server: the page at /app (its files in the package, no
build step, nothing from the internet) and the API under /app/api/."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.mini_app.api import MiniAppApi
from bot.mini_app.covers import CoverSource
from bot.mini_app.init_data import DEFAULT_MAX_AGE, InitDataCheck
from bot.telegram.context import BotApplication

STATIC = Path(__file__).parent / "static"
# The page's files, each with its type: nothing else is served from the folder.
FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# The page loads nothing from elsewhere, and runs no inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; "
        "style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class MiniAppOptions:
    """How old initData may be (WEB_APP_AUTH_MAX_AGE), and where covers come from
    (COVERS_URL; None: drawn)."""

    max_age: timedelta = DEFAULT_MAX_AGE
    covers: CoverSource | None = None


DEFAULT_OPTIONS = MiniAppOptions()


def mini_app_routes(
    application: BotApplication, options: MiniAppOptions = DEFAULT_OPTIONS
) -> list[BaseRoute]:
    """/app, its files, and its API, answering for application's bot (initData signed
    for its token)."""
    check = InitDataCheck.for_token(application.bot.token, options.max_age)
    api = MiniAppApi(application, check, options.covers)
    signed = api.authenticated
    return [
        Route("/app", page, methods=["GET"]),
        Route("/app/", page, methods=["GET"]),
        Route("/app/static/{name}", static_file, methods=["GET"]),
        Route("/app/api/words", signed(api.words), methods=["GET"]),
        Route("/app/api/books", signed(api.books), methods=["GET"]),
        Route("/app/api/books/{book_id}", signed(api.book), methods=["GET"]),
        Route("/app/api/books/{book_id}/cover", signed(api.cover), methods=["GET"]),
        Route("/app/api/books/{book_id}/reserve", signed(api.reserve), methods=["POST"]),
        Route("/app/api/reservations", signed(api.reservations), methods=["GET"]),
        Route(
            "/app/api/reservations/{reservation_id}/cancel", signed(api.cancel), methods=["POST"]
        ),
        Route(
            "/app/api/reservations/{reservation_id}/release",
            signed(api.cancel),
            methods=["POST"],
        ),
    ]


async def page(request: Request) -> Response:
    return Response(
        (STATIC / "index.html").read_bytes(),
        media_type="text/html; charset=utf-8",
        headers=SECURITY_HEADERS,
    )


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in FILES:
        return Response(status_code=404)
    return Response((STATIC / name).read_bytes(), media_type=FILES[name], headers=SECURITY_HEADERS)
