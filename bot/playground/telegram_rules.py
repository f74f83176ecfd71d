"""What the Bot API refuses, checked the way Telegram checks it.

Independent of the bot's own length and markup code on purpose: a bot bug that our code
agrees with must still be refused here, as Telegram would refuse it.
"""

import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
TAG = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and "
    "reply markup are exactly the same as a current content and reply markup "
    "of the message"
)
# What a chat's menu button is when none was set: the command menu.
COMMANDS_BUTTON = {"type": "commands"}
MENU_BUTTON_TYPES = ("commands", "default", "web_app")
MAX_MENU_BUTTON_TEXT = 64
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_ANSWER_LENGTH = 200


class BotApiError(Exception):
    """A refusal, as the Bot API answers it: an error code and a description."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def utf16_length(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units: 2 for a character outside the BMP."""
    return len(text.encode("utf-16-le")) // 2


def check_text(params: dict[str, Any]) -> None:
    """A message text: valid HTML when so parsed, not empty, at most 4096 units."""
    text = str(params.get("text", ""))
    if params.get("parse_mode") == "HTML":
        check_html(text)
        # Telegram measures the text its entities were parsed out of.
        text = html.unescape(TAG.sub("", text))
    if not text.strip():
        raise BotApiError(400, "Bad Request: message text is empty")
    if utf16_length(text) > MAX_MESSAGE_LENGTH:
        raise BotApiError(400, "Bad Request: message is too long")


def check_html(text: str) -> None:
    """Telegram refuses a stray '<', '>' or '&' and unknown or unbalanced tags."""
    open_tags: list[str] = []
    for match in TAG.finditer(text):
        closing, name = match.group(1), match.group(2)
        if name not in ALLOWED_TAGS:
            raise BotApiError(400, f"Bad Request: can't parse entities: unsupported tag {name}")
        if not closing:
            open_tags.append(name)
        elif not open_tags or open_tags.pop() != name:
            raise BotApiError(400, f"Bad Request: can't parse entities: unmatched </{name}>")
    if open_tags:
        raise BotApiError(400, "Bad Request: can't parse entities: unclosed tag")
    rest = ENTITY.sub("", TAG.sub("", text))
    if any(character in rest for character in "<>&"):
        raise BotApiError(400, "Bad Request: can't parse entities: unescaped character")


def checked_markup(params: dict[str, Any]) -> dict[str, Any]:
    """The inline keyboard as sent (a JSON string or an object), button data 1-64 bytes."""
    markup = params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if "web_app" in button:
                check_web_app(button["web_app"])
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return dict(markup)


def checked_menu_button(params: dict[str, Any]) -> dict[str, Any]:
    """setChatMenuButton's button (a JSON string or an object; none: the default)."""
    button = params.get("menu_button") or {"type": "default"}
    try:
        button = json.loads(button) if isinstance(button, str) else button
    except json.JSONDecodeError:
        raise BotApiError(400, "Bad Request: can't parse menu button JSON object") from None
    if not isinstance(button, dict) or button.get("type") not in (
        "commands",
        "default",
        "web_app",
    ):
        raise BotApiError(400, "Bad Request: unsupported menu button type")
    if button["type"] != "web_app":
        return {"type": button["type"]}
    text = button.get("text")
    if not isinstance(text, str) or not 1 <= utf16_length(text) <= MAX_MENU_BUTTON_TEXT:
        raise BotApiError(400, "Bad Request: menu button text must be non-empty")
    return {
        "type": "web_app",
        "text": text,
        "web_app": {"url": check_web_app(button.get("web_app"))},
    }


def check_web_app(web_app: Any) -> str:
    """A Web App's address: HTTPS, as Telegram requires; plain HTTP only to this machine
    (the playground's own Mini App, as Telegram's test environment allows HTTP)."""
    url = web_app.get("url") if isinstance(web_app, dict) else None
    parsed = urlsplit(url) if isinstance(url, str) else None
    loopback = parsed is not None and parsed.hostname in ("127.0.0.1", "localhost", "::1")
    secure = parsed is not None and parsed.scheme == "https" and bool(parsed.hostname)
    local = parsed is not None and parsed.scheme == "http" and loopback
    if not (secure or local):
        raise BotApiError(400, "Bad Request: BUTTON_URL_INVALID")
    return str(url)


def check_callback_answer(params: dict[str, Any]) -> None:
    if utf16_length(str(params.get("text", ""))) > MAX_CALLBACK_ANSWER_LENGTH:
        raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
