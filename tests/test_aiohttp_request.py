"""The bot's Bot API calls over aiohttp (bot/delivery/aiohttp_request.py), against the
fake Bot API over real HTTP: messages, buttons and files arrive as sent; Telegram's
refusals, a dropped connection and a silent server become PTB's own errors, without
the token."""

import asyncio
import contextlib
import socket
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.delivery.aiohttp_request import AiohttpRequest, _proxy_for
from bot.playground.files_and_inline import UploadedFile
from bot.playground.flood_control import FloodLimits
from tests.fake_bot_api_server import running_fake_bot_api
from tests.fake_telegram import FakeBotApi

TOKEN = "123456:secret-token-never-shown"


def bot_at(base_url: str) -> Bot:
    return Bot(TOKEN, base_url=base_url, request=AiohttpRequest())


async def test_messages_buttons_and_files_arrive_as_sent() -> None:
    with running_fake_bot_api() as telegram:
        async with bot_at(telegram.base_url) as bot:
            buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y:1")]])
            sent = await bot.send_message(
                42, "<b>Hello</b>", parse_mode="HTML", reply_markup=buttons
            )
            await bot.send_document(42, b"%PDF-1.4 tags", filename="tags.pdf", caption="Tags")
            many = await asyncio.gather(*(bot.send_message(100 + n, "Hi") for n in range(50)))
    [message, document] = telegram.api.sent(chat_id=42)
    assert sent.text == "<b>Hello</b>"
    assert message.params["text"] == "<b>Hello</b>"
    assert message.buttons == [("Yes", "y:1")]
    upload = document.params["document"]
    assert isinstance(upload, UploadedFile)
    assert (upload.filename, upload.content) == ("tags.pdf", b"%PDF-1.4 tags")
    assert document.params["caption"] == "Tags"
    assert sorted(m.chat_id for m in many) == list(range(100, 150))


async def test_telegrams_refusals_are_ptbs_errors() -> None:
    api = FakeBotApi(limits=FloodLimits(per_second=30, per_chat_per_second=1))
    api.failing_chats[7] = 400
    with running_fake_bot_api(api) as telegram:
        async with bot_at(telegram.base_url) as bot:
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await bot.send_message(7, "Hi")
            await bot.send_message(8, "Hi")
            with pytest.raises(RetryAfter):
                await bot.send_message(8, "Hi again")


async def test_a_dropped_connection_is_a_network_error_without_the_token() -> None:
    with running_fake_bot_api() as telegram:
        async with bot_at(telegram.base_url) as bot:
            telegram.go_down()
            with pytest.raises(NetworkError) as raised:
                await bot.send_message(42, "Hi")
    assert TOKEN not in str(raised.value)
    assert "secret" not in repr(raised.value)


@contextmanager
def silent_server() -> Iterator[str]:
    """Takes connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/bot"
    finally:
        listener.close()


async def test_a_server_that_never_answers_times_out_at_the_read_timeout() -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        with silent_server() as base_url:
            started = time.monotonic()
            with pytest.raises(TimedOut):
                await request.post(f"{base_url}{TOKEN}/getMe", read_timeout=0.3)
    finally:
        await request.shutdown()
    assert time.monotonic() - started < 3


async def test_a_full_pool_times_out_without_the_token_anywhere_in_the_traceback() -> None:
    """aiohttp's own timeout error names the URL: neither its text nor its chain reaches
    PTB's error, which a log or an error reporter would print whole."""
    request = AiohttpRequest(connection_pool_size=1)
    await request.initialize()
    try:
        with silent_server() as base_url:
            url = f"{base_url}{TOKEN}/getMe"
            waiting = asyncio.ensure_future(request.post(url, read_timeout=5))
            await asyncio.sleep(0.1)  # the only connection is taken
            with pytest.raises(TimedOut) as raised:
                await request.post(url, pool_timeout=0.1, connect_timeout=0.1)
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimedOut):
                await waiting
    finally:
        await request.shutdown()
    printed = "".join(traceback.format_exception(raised.value))
    assert "secret" not in printed


async def test_http_proxy_and_no_proxy_from_the_environment_are_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As httpx's trust_env does for getUpdates: the bot's calls go through HTTP_PROXY,
    unless NO_PROXY names the host. The fake Bot API plays the proxy (it answers by the
    last part of the path, which a proxied request's full URL ends with)."""
    with running_fake_bot_api() as telegram:
        monkeypatch.setenv("HTTP_PROXY", telegram.base_url.removesuffix("/bot"))
        _proxy_for.cache_clear()
        async with bot_at("http://api.telegram.invalid/bot") as bot:
            await bot.send_message(42, "Through the proxy")
        monkeypatch.setenv("NO_PROXY", "api.telegram.invalid")
        _proxy_for.cache_clear()
        with pytest.raises(NetworkError):  # straight to a host that doesn't exist
            async with bot_at("http://api.telegram.invalid/bot") as bot:
                await bot.send_message(42, "Not through the proxy")
    _proxy_for.cache_clear()
    assert [m.params["text"] for m in telegram.api.sent(chat_id=42)] == ["Through the proxy"]
