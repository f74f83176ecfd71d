"""A recording stand-in for the Bot API that answers the way Telegram does.

Only the HTTP layer is replaced: the bot's real `Bot`, `Application` and handlers run.
It checks what Telegram checks (HTML markup, lengths, callback data size, edits that
change nothing) so a test fails where the real Bot API would refuse.
"""

import asyncio
import html
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Bookstore",
    "username": "bookstore_test_bot",
}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
TAG = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


@dataclass
class SentRequest:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    result: Any = None
    # None: answered OK; -1: the connection was dropped (injected network failure)
    error_code: int | None = None
    at: float = 0.0
    # which client sent it, when several bots share one fake
    via: str = ""

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return None if value is None else int(value)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [
            (button["text"], button.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]


class DropConnection(Exception):
    """Injected network failure: the transport hangs up without answering."""


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood control: messages per second in all, and per chat."""

    per_second: int = 30
    per_chat_per_second: int = 1
    # Messages sent with allow_paid_broadcast: counted on their own, up to this many.
    paid_per_second: int = 1000


FAILURE_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
}
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# Methods that count as messages for the flood limits.
MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText"})


class BotApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class FakeBotApi:
    """The Bot API's answers and a record of every call."""

    requests: list[SentRequest] = field(default_factory=list)
    # chat id -> error code to answer sendMessage with (403: blocked the bot)
    failing_chats: dict[int, int] = field(default_factory=dict)
    # chat ids whose next sendMessage gets a 429 with this retry_after
    flood_once: dict[int, int] = field(default_factory=dict)
    # chat id -> how many sendMessage calls to it are dropped before one goes through
    network_failures: dict[int, int] = field(default_factory=dict)
    # when set, 429 for more than limits.per_second messages in any second, or
    # limits.per_chat_per_second to one chat
    limits: FloodLimits | None = None
    # Telegram down for every method: "502" answers 502 Bad Gateway, "drop" hangs up
    down: Literal["502", "drop"] | None = None
    # seconds each sendMessage takes before Telegram answers (FakeRequest only)
    send_delay: float = 0.0
    _accepted: deque[float] = field(default_factory=deque)
    _accepted_paid: deque[float] = field(default_factory=deque)
    _accepted_by_chat: dict[int, deque[float]] = field(default_factory=dict)
    _message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    _answered_queries: set[str] = field(default_factory=set)

    def answer(
        self, method: str, params: dict[str, Any], via: str = ""
    ) -> tuple[int, dict[str, Any]]:
        request = SentRequest(method, params, at=time.monotonic(), via=via)
        self.requests.append(request)
        try:
            self._fail_as_injected(method, params)
            self._enforce_limits(method, params, request.at)
            request.result = self._result(method, params)
            return 200, {"ok": True, "result": request.result}
        except BotApiError as error:
            request.error_code = error.code
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return error.code, body

    def _fail_as_injected(self, method: str, params: dict[str, Any]) -> None:
        if self.down == "502":
            raise BotApiError(502, "Bad Gateway")
        if self.down == "drop":
            self.requests[-1].error_code = -1
            raise DropConnection()
        if method != "sendMessage":
            return
        chat_id = int(params["chat_id"])
        if self.network_failures.get(chat_id, 0) > 0:
            self.network_failures[chat_id] -= 1
            self.requests[-1].error_code = -1
            raise DropConnection()

    def _enforce_limits(self, method: str, params: dict[str, Any], now: float) -> None:
        if self.limits is None or method not in MESSAGE_METHODS:
            return
        chat_id = int(params["chat_id"])
        paid = bool(params.get("allow_paid_broadcast"))
        overall = _window(self._accepted_paid if paid else self._accepted, now)
        in_chat = _window(self._accepted_by_chat.setdefault(chat_id, deque()), now)
        for times, limit in (
            (overall, self.limits.paid_per_second if paid else self.limits.per_second),
            (in_chat, self.limits.per_chat_per_second),
        ):
            if len(times) >= limit:
                wait = max(1, math.ceil(times[0] + 1 - now))
                raise BotApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        overall.append(now)
        in_chat.append(now)

    def received(self, chat_id: int, containing: str) -> int:
        """How many messages with this text reached the chat."""
        return len([text for text in self.texts_to(chat_id) if containing in text])

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A message the bot sent, as Telegram would include it in a callback query."""
        return self._messages[(chat_id, message_id)]

    def sent(self, method: str | None = None, chat_id: int | None = None) -> list[SentRequest]:
        return [
            request
            for request in self.requests
            if (method is None or request.method == method)
            and (chat_id is None or request.chat_id == chat_id)
        ]

    def texts_to(self, chat_id: int) -> list[str]:
        """Messages that reached the chat (refused attempts left out)."""
        return [
            request.text
            for request in self.sent("sendMessage", chat_id)
            if request.error_code is None
        ]

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        match method:
            case "getMe":
                return BOT_USER
            case "sendMessage":
                return self._send_message(params)
            case "editMessageText":
                return self._edit_message_text(params)
            case "answerCallbackQuery":
                text = str(params.get("text", ""))
                if utf16_length(text) > 200:
                    raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
                # A query is answered once; Telegram refuses a second answer.
                query_id = str(params["callback_query_id"])
                if query_id in self._answered_queries:
                    raise BotApiError(400, QUERY_INVALID)
                self._answered_queries.add(query_id)
                return True
            case "setMyCommands" | "deleteWebhook" | "deleteMyCommands" | "close":
                return True
            case "getUpdates":
                return []
        raise BotApiError(404, "Not Found")

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        if chat_id in self.failing_chats:
            code = self.failing_chats[chat_id]
            raise BotApiError(code, FAILURE_DESCRIPTIONS.get(code, "Internal Server Error"))
        if chat_id in self.flood_once:
            raise BotApiError(
                429,
                f"Too Many Requests: retry after {self.flood_once[chat_id]}",
                retry_after=self.flood_once.pop(chat_id),
            )
        _check_text(params)
        message_id = next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "date": int(time.time()),
            "text": str(params["text"]),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = _markup(params)
        self._messages[(chat_id, message_id)] = message
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            raise BotApiError(400, "Bad Request: message to edit not found")
        _check_text(params)
        old = self._messages[key]
        new = dict(old, text=str(params["text"]))
        new.pop("reply_markup", None)
        if params.get("reply_markup"):
            new["reply_markup"] = _markup(params)
        if new == old:
            raise BotApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        new["edit_date"] = int(time.time())
        self._messages[key] = new
        return new


def _window(times: deque[float], now: float) -> deque[float]:
    """The times of the last second, older ones dropped."""
    while times and times[0] <= now - 1:
        times.popleft()
    return times


def _markup(params: dict[str, Any]) -> dict[str, Any]:
    markup = params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return dict(markup)


def _check_text(params: dict[str, Any]) -> None:
    text = str(params.get("text", ""))
    if params.get("parse_mode") == "HTML":
        _check_html(text)
        # Telegram measures the text its entities were parsed out of.
        text = html.unescape(TAG.sub("", text))
    if not text.strip():
        raise BotApiError(400, "Bad Request: message text is empty")
    if utf16_length(text) > 4096:
        raise BotApiError(400, "Bad Request: message is too long")


def utf16_length(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units: 2 for a character outside the BMP."""
    return len(text.encode("utf-16-le")) // 2


def _check_html(text: str) -> None:
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


class FakeRequest(BaseRequest):
    """PTB's network layer, answered by a FakeBotApi instead of Telegram."""

    def __init__(self, api: FakeBotApi, name: str = "") -> None:
        self.api = api
        self.name = name

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        if api_method == "sendMessage" and self.api.send_delay:
            await asyncio.sleep(self.api.send_delay)
        try:
            status, body = self.api.answer(api_method, params, self.name)
        except DropConnection:
            raise NetworkError("injected: connection dropped") from None
        return status, json.dumps(body).encode()
