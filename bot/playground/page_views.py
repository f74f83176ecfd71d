"""What the playground's page is shown of the local Bot API's records: a message as the
page draws it, a call in the calls panel, an inline answer's results, a file sent."""

import json
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from bot.playground.files_and_inline import StoredFile
from bot.playground.local_bot_api import SentRequest


def shown_message(message: dict[str, Any]) -> dict[str, Any]:
    """A message as the page draws it: the bot's HTML, its buttons, whether edited; a
    photo's address, or a document's name and address (a file's caption as its text)."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    shown: dict[str, Any] = {}
    if message.get("photo"):
        shown["photo"] = f"/files/{quote(message['photo'][-1]['file_id'])}"
    if message.get("document"):
        document = message["document"]
        shown["document"] = {
            "name": document.get("file_name", "file"),
            "url": f"/files/{quote(document['file_id'])}",
        }
    if message.get("via_bot"):
        shown["via_bot"] = message["via_bot"].get("username", "")
    return shown | {
        "id": message["message_id"],
        "from_bot": bool(message["from"].get("is_bot")),
        "text": message.get("text", message.get("caption", "")),
        "html": message.get("parse_mode") == "HTML",
        "edited": "edit_date" in message,
        "buttons": [
            [
                {
                    "text": b["text"],
                    "data": b.get("callback_data", ""),
                    "url": b.get("url", ""),
                    "web_app": (b.get("web_app") or {}).get("url", ""),
                }
                for b in row
            ]
            for row in rows
        ],
    }


def shown_call(request: SentRequest, chat_id: int | None) -> dict[str, Any]:
    """A call in the calls panel: in the chat it concerns, with its outcome."""
    if request.error_code is not None:
        detail = request.description
    elif isinstance(request.result, dict) and "message_id" in request.result:
        detail = f"message {request.result['message_id']}"
    else:
        detail = "ok"
    return {
        "method": request.method,
        "chat_id": chat_id,
        "ok": request.error_code is None,
        "detail": detail,
        "text": str(request.params.get("text", ""))
        if request.method == "answerCallbackQuery"
        else "",
    }


def shown_inline_results(params: dict[str, Any]) -> list[dict[str, str]]:
    """An answerInlineQuery's results, for the persona to pick one."""
    results = params.get("results") or []
    results = json.loads(results) if isinstance(results, str) else results
    return [
        {
            "id": str(result.get("id", "")),
            "title": str(result.get("title", "")),
            "description": str(result.get("description", "")),
        }
        for result in results
    ]


def file_response(stored: StoredFile) -> Response:
    """A photo as the image it is, a document as a download under its name (never shown
    in the page, whatever its type)."""
    disposition = "inline" if stored.is_photo else "attachment"
    return Response(
        stored.content,
        media_type=stored.content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            # only the playground's own page may load it (an <img> elsewhere sends
            # no Origin for the same-origin check to refuse)
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )
