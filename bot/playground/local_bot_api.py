"""A Bot API of our own: answers the methods the bot uses as Telegram does, and records them.

It checks what Telegram checks (HTML markup, lengths in UTF-16 units, callback data size,
edits that change nothing, callback queries answered once) and, when given limits, applies
Telegram's flood control, so what works against it works on Telegram. The playground serves
it over HTTP; the tests use it directly and over HTTP, adding the failures they inject.
"""

import html
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.playground.files_and_inline import (
    StoredFile,
    check_inline_answer,
    checked_upload,
    photo_size,
    stored_file,
)
from bot.playground.flood_control import FloodCounts, FloodLimits
from bot.playground.menus import Menus, chat_of
from bot.playground.telegram_rules import (
    NOT_MODIFIED,
    QUERY_INVALID,
    TAG,
    BotApiError,
    check_callback_answer,
    check_text,
    checked_markup,
)
from bot.playground.updates import text_message

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Bookstore",
    "username": "bookstore_test_bot",
}
# Methods that count as messages for the flood limits.
MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText", "sendPhoto", "sendDocument"})
# Methods Telegram refuses in the chat of a user who blocked the bot.
TO_A_CHAT_METHODS = MESSAGE_METHODS | {"copyMessage"}
BLOCKED = "Forbidden: bot was blocked by the user"
# Methods answered True with nothing to check or keep.
ACCEPTED_METHODS = frozenset({"deleteWebhook", "setWebhook", "close", "logOut"})

# Told of each call ("call", the SentRequest) and of each message sent, edited or received
# ("message", the message as Telegram would show it).
Listener = Callable[[str, Any], None]


@dataclass
class SentRequest:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    result: Any = None
    # None: answered OK; -1: the connection was dropped (injected network failure)
    error_code: int | None = None
    at: float = 0.0
    # which client sent it, when several bots share one Bot API
    via: str = ""
    description: str = ""

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


@dataclass
class LocalBotApi:
    """The Bot API's answers, its messages, and a record of every call."""

    requests: list[SentRequest] = field(default_factory=list)
    # when set, 429 for more than limits.per_second messages in any second, or
    # limits.per_chat_per_second to one chat
    limits: FloodLimits | None = None
    # the seconds the flood limits count in (a test gives its own, to be exact on a busy
    # machine)
    clock: Callable[[], float] = time.monotonic
    listeners: list[Listener] = field(default_factory=list)
    # the command menus and menu buttons the bot set
    menus: Menus = field(default_factory=Menus)
    # the users who blocked the bot: messages to their chats get 403
    blocked: set[int] = field(default_factory=set)
    _flood: FloodCounts = field(default_factory=FloodCounts)
    _message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    _answered_queries: set[str] = field(default_factory=set)
    # how each message's text is formatted (parse_mode), for a client that shows it
    _formats: dict[tuple[int, int], str | None] = field(default_factory=dict)
    # the photos and documents sent, by file_id, for a client that shows or downloads them
    _files: dict[str, StoredFile] = field(default_factory=dict)
    # each inline query's answer (its results), by query id
    _inline_answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def answer(
        self, method: str, params: dict[str, Any], via: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body Telegram would answer this call with."""
        request = SentRequest(method, params, at=self.clock(), via=via)
        self.requests.append(request)
        try:
            self._before_limits(method, params)
            if method in TO_A_CHAT_METHODS and chat_of(params) in self.blocked:
                raise BotApiError(403, BLOCKED)
            self._enforce_limits(method, params, request.at)
            request.result = self._result(method, params)
            self._tell("call", request)
            return 200, {"ok": True, "result": request.result}
        except BotApiError as error:
            request.error_code = error.code
            request.description = error.description
            self._tell("call", request)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return error.code, body

    def receive(self, user: dict[str, Any], text: str) -> dict[str, Any]:
        """A message a user wrote in their private chat with the bot, as an update carries it."""
        message = text_message(next(self._message_ids), user, text)
        self._messages[(user["id"], message["message_id"])] = message
        self._tell("message", message)
        return message

    def receive_via_bot(
        self, user: dict[str, Any], query_id: str, result_id: str
    ) -> dict[str, Any]:
        """The message a user sends by picking one of an inline answer's results, as
        Telegram sends it in their name: the result's text and buttons, via the bot; the
        message as the bot gets it."""
        chosen = [r for r in self._inline_answers.get(query_id, []) if str(r["id"]) == result_id]
        if not chosen:
            raise KeyError(result_id)
        content = chosen[0].get("input_message_content") or {}
        message = text_message(next(self._message_ids), user, str(content["message_text"]))
        message["via_bot"] = BOT_USER
        if chosen[0].get("reply_markup"):
            message["reply_markup"] = chosen[0]["reply_markup"]
        key = (user["id"], message["message_id"])
        self._messages[key] = message
        self._formats[key] = content.get("parse_mode")
        self._tell("message", dict(message, parse_mode=content.get("parse_mode")))
        if content.get("parse_mode") == "HTML":
            # The bot gets the text its markup was parsed out of (its entities left out).
            return dict(message, text=html.unescape(TAG.sub("", message["text"])))
        return message

    def forget(self) -> None:
        """Every chat and call forgotten (the command menu stays, as on Telegram)."""
        self.requests.clear()
        self._messages.clear()
        self._formats.clear()
        self._answered_queries.clear()
        self._files.clear()
        self._inline_answers.clear()
        self.blocked.clear()
        self._flood = FloodCounts()

    def received(self, chat_id: int, containing: str) -> int:
        """How many messages with this text reached the chat."""
        return len([text for text in self.texts_to(chat_id) if containing in text])

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A message in a chat, as Telegram would include it in a callback query."""
        return self._messages[(chat_id, message_id)]

    def file(self, file_id: str) -> StoredFile | None:
        """A photo or document sent to a chat, by its file_id."""
        return self._files.get(file_id)

    def messages_in(self, chat_id: int) -> list[dict[str, Any]]:
        """The chat's messages, oldest first, each as last edited, with its parse_mode."""
        return [
            dict(message, parse_mode=self._formats.get(key))
            for key, message in self._messages.items()
            if key[0] == chat_id
        ]

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

    def _before_limits(self, method: str, params: dict[str, Any]) -> None:
        """Where a test injects failures that come before Telegram looks at the call."""

    def _refuse_send(self, chat_id: int) -> None:
        """Where a test makes one chat's messages fail (a blocked reader, a 429)."""

    def _tell(self, kind: str, subject: Any) -> None:
        for listener in self.listeners:
            listener(kind, subject)

    def _enforce_limits(self, method: str, params: dict[str, Any], now: float) -> None:
        if self.limits is None or method not in MESSAGE_METHODS:
            return
        paid = bool(params.get("allow_paid_broadcast"))
        self._flood.take(self.limits, int(params["chat_id"]), paid, now)

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        match method:
            case "getMe":
                return BOT_USER
            case "sendMessage":
                return self._send_message(params)
            case "editMessageText":
                return self._edit_message_text(params)
            case "answerCallbackQuery":
                check_callback_answer(params)
                # A query is answered once; Telegram refuses a second answer.
                query_id = str(params["callback_query_id"])
                if query_id in self._answered_queries:
                    raise BotApiError(400, QUERY_INVALID)
                self._answered_queries.add(query_id)
                return True
            case "setMyCommands" | "deleteMyCommands":
                return self.menus.set_commands(params)
            case "setChatMenuButton":
                return self.menus.set_button(params)
            case "getChatMenuButton":
                return self.menus.get_button(params)
            case "answerInlineQuery":
                check_inline_answer(params)
                results = params.get("results", [])
                results = json.loads(results) if isinstance(results, str) else results
                self._inline_answers[str(params["inline_query_id"])] = list(results)
                return True
            case "sendPhoto" | "sendDocument":
                return self._send_file(method, params)
            case "getUpdates":
                return []
            case _ if method in ACCEPTED_METHODS:
                return True
        raise BotApiError(404, "Not Found")

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        self._refuse_send(chat_id)
        check_text(params)
        message = self._new_message(chat_id)
        message["text"] = str(params["text"])
        if params.get("reply_markup"):
            message["reply_markup"] = checked_markup(params)
        return self._keep(message, params)

    def _send_file(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        self._refuse_send(chat_id)
        kind, upload = checked_upload(method, params)
        message = self._new_message(chat_id)
        message_id = message["message_id"]
        stored = stored_file(f"file-{message_id}", kind, upload)
        self._files[stored.file_id] = stored
        file = {
            "file_id": stored.file_id,
            "file_unique_id": f"unique-{message_id}",
            "file_size": len(upload.content),
        }
        if kind == "photo":
            width, height = photo_size(upload.content)
            message["photo"] = [dict(file, width=width, height=height)]
        else:
            message["document"] = dict(
                file, file_name=upload.filename, mime_type=stored.content_type
            )
        if params.get("caption"):
            message["caption"] = str(params["caption"])
        return self._keep(message, params)

    def _new_message(self, chat_id: int) -> dict[str, Any]:
        """A message from the bot to the chat, with its id and date, its content to come."""
        return {
            "message_id": next(self._message_ids),
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "date": int(time.time()),
        }

    def _keep(self, message: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """The message sent: kept with its format, and shown."""
        key = (message["chat"]["id"], message["message_id"])
        self._messages[key] = message
        self._formats[key] = params.get("parse_mode")
        self._tell("message", _shown(message, params))
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            raise BotApiError(400, "Bad Request: message to edit not found")
        check_text(params)
        old = self._messages[key]
        new = dict(old, text=str(params["text"]))
        new.pop("reply_markup", None)
        if params.get("reply_markup"):
            new["reply_markup"] = checked_markup(params)
        if new == old:
            raise BotApiError(400, NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self._messages[key] = new
        self._formats[key] = params.get("parse_mode")
        self._tell("message", _shown(new, params))
        return new


def _shown(message: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The message with how its text is formatted, for a client that shows it."""
    return dict(message, parse_mode=params.get("parse_mode"))
