"""What the playground's page may ask: a JSON body (only this page can send one), one of
the sample shop's personas; and the refusal of anything a Telegram client could not send."""

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.playground import sample_shop

PERSONAS = {persona.id: persona for persona in sample_shop.PERSONAS}


class BadAction(Exception):
    """A request from the page that a Telegram client could not have sent."""

    status_code = 400


class NotJson(BadAction):
    """A body not sent as JSON: what another site's form or no-cors fetch can send."""

    status_code = 415


def refused(error: BadAction) -> Response:
    return JSONResponse({"error": str(error)}, status_code=error.status_code)


async def json_body(request: Request) -> dict[str, Any]:
    # A page of another site can post text/plain without asking; only a page of this
    # one can post application/json (a browser asks first, and nothing here says yes).
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise NotJson("the body must be sent as application/json")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadAction("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadAction("the body must be a JSON object")
    return body


def persona_of(body: dict[str, Any]) -> sample_shop.Persona:
    chosen = body.get("persona")
    persona = PERSONAS.get(chosen) if isinstance(chosen, int) else None
    if persona is None:
        raise BadAction("no such persona")
    return persona
