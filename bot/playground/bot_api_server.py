"""The local Bot API over HTTP, as an ASGI route: https://api.telegram.org/bot<token>/<method>."""

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.playground.files_and_inline import UploadedFile, multipart_fields
from bot.playground.local_bot_api import LocalBotApi
from bot.playground.updates import UpdateQueue

# Parameters sent as plain strings; everything else in a form body is JSON.
STRING_PARAMETERS = {
    "text",
    "parse_mode",
    "callback_query_id",
    "url",
    "description",
    "secret_token",
    "caption",
    "query",
    "next_offset",
}


def parse_parameters(content_type: str, body: bytes) -> dict[str, Any]:
    """A call's parameters, sent as JSON or as a form whose non-string values are JSON."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        parsed: dict[str, Any] = json.loads(body)
        return parsed
    if content_type.startswith("multipart/form-data"):
        fields = multipart_fields(content_type, body)
    else:
        fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    params: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, UploadedFile) or name in STRING_PARAMETERS:
            params[name] = value
        else:
            try:
                params[name] = json.loads(value)
            except json.JSONDecodeError:
                params[name] = value
    return params


def bot_api_route(token: str, api: LocalBotApi, updates: UpdateQueue) -> Route:
    """Answers calls made with this token; any other token is unknown, as on Telegram."""

    async def call(request: Request) -> JSONResponse:
        if request.path_params["token"] != token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        method = request.path_params["method"]
        try:
            params = parse_parameters(
                request.headers.get("content-type", ""), await request.body()
            )
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid body"},
                status_code=400,
            )
        if method == "getUpdates":
            return JSONResponse({"ok": True, "result": await updates.get_updates(params)})
        status, body = api.answer(method, params)
        return JSONResponse(body, status_code=status)

    return Route("/bot{token}/{method}", call, methods=["GET", "POST"])
