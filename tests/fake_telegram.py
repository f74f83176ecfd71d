"""A recording stand-in for the Bot API that answers the way Telegram does.

Only the HTTP layer is replaced: the bot's real `Bot`, `Application` and handlers run.
What Telegram checks and answers is the package's own local Bot API
(bot/playground/local_bot_api.py); this adds the failures tests inject (blocked readers,
429s, dropped connections, outages, slow sends) and PTB's network layer answered by it.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.playground.files_and_inline import UploadedFile, menu_chat
from bot.playground.local_bot_api import LocalBotApi
from bot.playground.telegram_rules import BotApiError


class DropConnection(Exception):
    """Injected network failure: the transport hangs up without answering."""


FAILURE_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
}


@dataclass
class FakeBotApi(LocalBotApi):
    """The local Bot API, with the failures a test asks for."""

    # chat id -> error code to answer sendMessage with (403: blocked the bot)
    failing_chats: dict[int, int] = field(default_factory=dict)
    # chat ids whose next sendMessage gets a 429 with this retry_after
    flood_once: dict[int, int] = field(default_factory=dict)
    # chat id -> how many sendMessage calls to it are dropped before one goes through
    network_failures: dict[int, int] = field(default_factory=dict)
    # Telegram down for every method: "502" answers 502 Bad Gateway, "drop" hangs up
    down: Literal["502", "drop"] | None = None
    # method -> the refusals its next calls get, one call each: (502, "Bad Gateway")
    failing_calls: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # method -> the refusals its next calls get after Telegram took them, one call each
    # (a proxy's 502 on the way back): asked again, Telegram says it's done already
    failing_replies: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # seconds each sendMessage takes before Telegram answers (FakeRequest only)
    send_delay: float = 0.0
    # seconds each answerCallbackQuery takes before Telegram answers (FakeRequest only);
    # a read timeout that comes first ends the request unanswered, as when Telegram stalls
    answer_delay: float = 0.0
    # FakeRequest's read timeout when the call gives none (the bot's own is 5 s)
    read_timeout: float = 5.0
    # delayed answerCallbackQuery calls started, and when each ended (cut short or
    # timed out included) as (started, ended)
    answers_started: int = 0
    answer_spans: list[tuple[float, float]] = field(default_factory=list)

    def answer(
        self, method: str, params: dict[str, Any], via: str = ""
    ) -> tuple[int, dict[str, Any]]:
        status, body = super().answer(method, params, via)
        if status != 200 or not self.failing_replies.get(method):
            return status, body
        code, description = self.failing_replies[method].pop(0)
        self.requests[-1].error_code = code
        return code, {"ok": False, "error_code": code, "description": description}

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        # The Mini App's menu button (bot/telegram/menu_button.py): taken, as Telegram does.
        if method == "setChatMenuButton":
            return True
        return super()._result(method, params)

    def _before_limits(self, method: str, params: dict[str, Any]) -> None:
        if self.down == "502":
            raise BotApiError(502, "Bad Gateway")
        if self.down == "drop":
            self.requests[-1].error_code = -1
            raise DropConnection()
        if self.failing_calls.get(method):
            raise BotApiError(*self.failing_calls[method].pop(0))
        if method == "setMyCommands" and menu_chat(params) in self.failing_chats:
            raise BotApiError(400, "Bad Request: chat not found")
        if method != "sendMessage":
            return
        chat_id = int(params["chat_id"])
        if self.network_failures.get(chat_id, 0) > 0:
            self.network_failures[chat_id] -= 1
            self.requests[-1].error_code = -1
            raise DropConnection()

    def _refuse_send(self, chat_id: int) -> None:
        if chat_id in self.failing_chats:
            code = self.failing_chats[chat_id]
            raise BotApiError(code, FAILURE_DESCRIPTIONS.get(code, "Internal Server Error"))
        if chat_id in self.flood_once:
            raise BotApiError(
                429,
                f"Too Many Requests: retry after {self.flood_once[chat_id]}",
                retry_after=self.flood_once.pop(chat_id),
            )


class FakeRequest(BaseRequest):
    """PTB's network layer, answered by a FakeBotApi instead of Telegram."""

    def __init__(self, api: FakeBotApi, name: str = "") -> None:
        self.api = api
        self.name = name

    @property
    def read_timeout(self) -> float | None:
        return self.api.read_timeout

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
        params: dict[str, Any] = dict(request_data.parameters) if request_data is not None else {}
        if request_data is not None and request_data.contains_files:
            params.update(uploaded_files(request_data))
        if api_method == "sendMessage" and self.api.send_delay:
            await asyncio.sleep(self.api.send_delay)
        if api_method == "answerCallbackQuery" and self.api.answer_delay:
            timeout = read_timeout if isinstance(read_timeout, int | float) else None
            await self._delay_answer(timeout or self.api.read_timeout)
        try:
            status, body = self.api.answer(api_method, params, self.name)
        except DropConnection:
            raise NetworkError("injected: connection dropped") from None
        return status, json.dumps(body).encode()

    async def _delay_answer(self, read_timeout: float) -> None:
        started = time.monotonic()
        self.api.answers_started += 1
        try:
            await asyncio.sleep(min(self.api.answer_delay, read_timeout))
        finally:
            self.api.answer_spans.append((started, time.monotonic()))
        if self.api.answer_delay > read_timeout:
            raise TimedOut()


def uploaded_files(request_data: RequestData) -> dict[str, UploadedFile]:
    """The files of a multipart request, by parameter name."""
    files = {}
    for name, field_tuple in request_data.multipart_data.items():
        filename, content, mime_type = (*field_tuple, "application/octet-stream")[:3]
        data = content if isinstance(content, bytes) else content.read()
        files[name] = UploadedFile(str(filename), data, str(mime_type))
    return files
