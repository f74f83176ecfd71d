"""The endpoint Telegram posts updates to (PTB's custom-webhook pattern: the update goes
into application.update_queue, and the Application processes it after the answer).

Everything in a request is untrusted: a request without the secret token is refused (403)
before its body is read; a body that is not an update is refused (400) without touching
the bot. An update seen before (Telegram retrying, maybe to another process) is answered
200, so Telegram stops retrying, and dropped.
"""

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from telegram import Update

from bot.database import MAX_ID
from bot.metrics.registry import WEBHOOK_REFUSED
from bot.telegram.context import BotApplication
from bot.web.received_updates import ReceivedUpdates

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header's name)
# Telegram's updates are a few kilobytes (a 4096-character text with its entities, a
# message it replies to); anything far larger is not one.
MAX_BODY_BYTES = 1024 * 1024


class WebhookEndpoint:
    def __init__(
        self, application: BotApplication, received: ReceivedUpdates, secret: str
    ) -> None:
        self._application = application
        self._received = received
        self._secret = secret.encode()

    async def answer(self, request: Request) -> Response:
        # Starlette decodes headers as latin-1: encoding back gives the bytes sent.
        offered = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(offered, self._secret):
            WEBHOOK_REFUSED.labels("secret").inc()
            return Response(status_code=403)
        update = parse_update(await read_body(request), self._application)
        if update is None:
            WEBHOOK_REFUSED.labels("malformed").inc()
            return Response(status_code=400)
        if await self._received.first_time(update.update_id):
            await self._application.update_queue.put(update)
        else:
            logger.info("Update %d came again; it was taken in already", update.update_id)
        return Response()


async def read_body(request: Request) -> bytes | None:
    """The body, or None when it is larger than any update (read no further then)."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def parse_update(body: bytes | None, application: BotApplication) -> Update | None:
    """The update in the body, or None when it holds none."""
    if body is None:
        return None
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested beyond reason
        return None
    if not isinstance(data, dict):
        return None
    update_id = data.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= MAX_ID:
        return None
    try:
        return Update.de_json(data, application.bot)
    except Exception:  # any shape of JSON may reach PTB's parsing: refuse it
        logger.debug("Refused a webhook body that is not an update", exc_info=True)
        return None
