"""The fake Bot API over real HTTP, for running the whole bot (polling) against it.

Point the bot at it with TELEGRAM_BASE_URL=http://127.0.0.1:<port>/bot. A test injects
what users type or press; the bot fetches those with getUpdates (long polling, offsets)
and every call it makes is recorded by the FakeBotApi underneath.
"""

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.playground.bot_api_server import parse_parameters
from bot.playground.local_bot_api import SentRequest
from bot.playground.updates import PendingUpdates
from tests.chat import (
    Person,
    callback_update,
    inline_query_update,
    message_update,
    my_chat_member_update,
)
from tests.fake_telegram import DropConnection, FakeBotApi

# Long polls are held here at most this long (Telegram holds them up to 50 s).
LONGEST_POLL_SECONDS = 5.0


class _Listener(ThreadingHTTPServer):
    # Telegram takes any number of connections at once. The default backlog of 5 drops
    # some of a burst's connections, and their clients retry a second later.
    request_queue_size = 1024


class FakeBotApiServer:
    def __init__(self, api: FakeBotApi | None = None, port: int = 0) -> None:
        self.api = api or FakeBotApi()
        self._changed = threading.Condition()
        self._pending = PendingUpdates()
        self.polls = 0  # getUpdates calls so far: the bot is listening once this grows
        self._down = False
        self._server = _Listener(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/bot"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def go_down(self) -> None:
        """Telegram unreachable: every request, long polls included, loses its connection."""
        with self._changed:
            self._down = True
            self._changed.notify_all()

    def come_back(self) -> None:
        with self._changed:
            self._down = False

    # What users do

    def send_text(self, person: Person, text: str) -> None:
        self._push(lambda update_id: message_update(update_id, person, text))

    def press_button(self, person: Person, data: str, message: dict[str, Any]) -> None:
        self._push(lambda update_id: callback_update(update_id, person, data, message))

    def change_membership(self, person: Person, old: str, new: str) -> None:
        """The person blocks ("kicked") or unblocks ("member") the bot in their chat."""
        if new == "kicked":
            self.api.failing_chats[person.id] = 403
        else:
            self.api.failing_chats.pop(person.id, None)
        self._push(lambda update_id: my_chat_member_update(update_id, person, old, new))

    def inline_query(self, person: Person, query: str, offset: str = "") -> None:
        """The person types `@bot <query>` in some chat."""
        self._push(lambda update_id: inline_query_update(update_id, person, query, offset))

    def _push(self, make: Callable[[int], dict[str, Any]]) -> None:
        with self._changed:
            self._pending.push(make(self._pending.next_id()))
            self._changed.notify_all()

    # What the bot did

    def wait_for_polling(self, timeout: float = 30.0) -> None:
        self.wait_for(lambda _: self.polls > 0, timeout)

    def wait_for(
        self, condition: Callable[[list[SentRequest]], bool], timeout: float = 10.0
    ) -> list[SentRequest]:
        """Block until the recorded calls satisfy condition; fail after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self.api.requests):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    calls = len(self.api.requests)
                    raise TimeoutError(f"the bot did not do it in {timeout} s ({calls} calls)")
                self._changed.wait(remaining)
            return list(self.api.requests)

    def answered(self) -> list[SentRequest]:
        """The calls recorded so far, each with its answer (a copy, taken between calls)."""
        with self._changed:
            return list(self.api.requests)

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self._down:
            raise DropConnection()
        if method == "getUpdates" and self.api.down is None:
            return 200, {"ok": True, "result": self._updates_after(params)}
        with self._changed:
            status, body = self.api.answer(method, params)
            self._changed.notify_all()
        return status, body

    def _updates_after(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        asked_at = time.monotonic()
        with self._changed:
            offset, timeout = self._pending.begin_poll(params, LONGEST_POLL_SECONDS)
            deadline = asked_at + timeout
            self.polls += 1
            self._changed.notify_all()
            while True:
                updates = self._pending.after(offset)
                if self._down:
                    raise DropConnection()
                remaining = deadline - time.monotonic()
                if updates or remaining <= 0:
                    return updates
                self._changed.wait(remaining)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as Telegram's server: a new connection per call costs the bot
            # (and this server) more than the call.
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: with Nagle's algorithm the body
            # waits for the client's delayed ACK, 40 ms a call on keep-alive connections.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                method = self.path.rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                params = parse_parameters(
                    self.headers.get("Content-Type", ""), self.rfile.read(length)
                )
                try:
                    status, body = server._answer(method, params)
                except DropConnection:
                    self.close_connection = True
                    return
                payload = json.dumps(body).encode()
                # The bot may have hung up already (a long poll cut short at shutdown).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: request lines carry the token

        return Handler


@contextmanager
def running_fake_bot_api(api: FakeBotApi | None = None) -> Iterator[FakeBotApiServer]:
    server = FakeBotApiServer(api)
    server.start()
    try:
        yield server
    finally:
        server.stop()
