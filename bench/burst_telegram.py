"""The burst bench's Bot API, in a process of its own: an aiohttp server answering as
Telegram does (its flood limits, getUpdates as long polls of at most 100 updates), with
the readers' presses coming from inside it, as they come from Telegram's side.

    python -m bench.burst_telegram --readers 400

Prints its port, then serves until stopped (SIGTERM or SIGINT). Besides the Bot API
(/bot<token>/<method>), the bench asks it:

- GET /burst/status: {"polls", "answered", "confirmed", "last_call_at"} so far;
- POST /burst/press {"seconds": S}: every reader presses Reserve on their own catalog
  message, evenly within S seconds (from now);
- GET /burst/calls: who pressed when, and every call the bot made (compact).

Times are time.monotonic(), one clock for every process on the machine (Linux).
"""

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
import time
from typing import Any

from aiohttp import web

from bot.playground.bot_api_server import parse_parameters
from bot.playground.flood_control import FloodLimits
from bot.playground.local_bot_api import SentRequest
from bot.playground.updates import PendingUpdates, callback_update
from tests.chat import Person
from tests.fake_telegram import FakeBotApi

CONFIRMATION = "Reserved <b>Dune</b>"
RESERVE_BOOK_1 = "r:1"
# Telegram's: a getUpdates gives at most 100 updates (its limit, 1-100, 100 if not given),
# and holds a long poll up to 50 s; the bot asks for 10 s, the bench stops within seconds.
MOST_UPDATES = 100
LONGEST_POLL_SECONDS = 5.0
# How often the pressing loop looks at the clock: presses due meanwhile go in together.
PRESS_TICK_SECONDS = 0.0005


class BurstTelegram:
    """The Bot API, the readers' catalog messages, and their presses."""

    def __init__(self, readers: list[Person], limits: FloodLimits) -> None:
        self.api = FakeBotApi()
        self.readers = readers
        # The catalog each reader was sent earlier, with its Reserve button: each their
        # own message, in their own chat (sent before the limits count).
        self.catalogs = {person.id: self._send_catalog(person) for person in readers}
        self.api.requests.clear()
        self.api.limits = limits
        self._pending = PendingUpdates()
        self._arrived = asyncio.Event()
        self.polls = 0
        # Each press: its callback query's id, the reader's chat, when they pressed.
        self.pressed: list[tuple[str, int, float]] = []
        self._answered: set[str] = set()
        self._confirmed: set[int] = set()

    def _send_catalog(self, person: Person) -> dict[str, Any]:
        keyboard = {"inline_keyboard": [[{"text": "Reserve", "callback_data": RESERVE_BOOK_1}]]}
        status, body = self.api.answer(
            "sendMessage", {"chat_id": person.id, "text": "Catalog", "reply_markup": keyboard}
        )
        assert status == 200, body
        message: dict[str, Any] = body["result"]
        message["chat"] = person.private_chat()
        return message

    async def call(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = parse_parameters(request.headers.get("Content-Type", ""), await request.read())
        if method == "getUpdates":
            return _json(200, {"ok": True, "result": await self._get_updates(params)})
        status, body = self.api.answer(method, params)
        self._count(self.api.requests[-1])
        return _json(status, body)

    def _count(self, request: SentRequest) -> None:
        if request.error_code is not None:
            return
        if request.method == "answerCallbackQuery":
            self._answered.add(str(request.params["callback_query_id"]))
        elif request.method == "sendMessage" and CONFIRMATION in request.text:
            self._confirmed.add(int(request.params["chat_id"]))

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset, timeout = self._pending.begin_poll(params, LONGEST_POLL_SECONDS)
        limit = min(max(int(params.get("limit") or MOST_UPDATES), 1), MOST_UPDATES)
        deadline = time.monotonic() + timeout
        self.polls += 1
        while True:
            updates = self._pending.after(offset)
            remaining = deadline - time.monotonic()
            if updates or remaining <= 0:
                return updates[:limit]
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def press(self, seconds: float) -> None:
        """Each reader presses Reserve once, evenly spread over seconds from now; a press
        counts from when its reader pressed, however late it reached the updates."""
        started = time.monotonic()
        step = seconds / len(self.readers)
        for n, person in enumerate(self.readers):
            due = started + n * step
            if due > time.monotonic():
                await asyncio.sleep(max(PRESS_TICK_SECONDS, due - time.monotonic()))
            update_id = self._pending.next_id()
            self.pressed.append((str(update_id), person.id, due))
            update = callback_update(
                update_id, person.as_user(), RESERVE_BOOK_1, self.catalogs[person.id]
            )
            self._pending.push(update)
            self._arrived.set()

    def status(self) -> dict[str, Any]:
        requests = self.api.requests
        return {
            "polls": self.polls,
            "answered": len(self._answered),
            "confirmed": len(self._confirmed),
            "last_call_at": requests[-1].at if requests else None,
        }

    def calls(self) -> dict[str, Any]:
        return {
            "pressed": self.pressed,
            "calls": [
                {
                    "method": r.method,
                    "at": r.at,
                    "error_code": r.error_code,
                    "chat_id": r.chat_id,
                    "callback_query_id": r.params.get("callback_query_id"),
                    "confirmation": r.method == "sendMessage" and CONFIRMATION in r.text,
                }
                for r in self.api.requests
            ],
        }


def _json(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=json.dumps(body), content_type="application/json")


def web_app(telegram: BurstTelegram) -> web.Application:
    pressing: set[asyncio.Task[None]] = set()

    async def status(_: web.Request) -> web.Response:
        return _json(200, telegram.status())

    async def press(request: web.Request) -> web.Response:
        seconds = float((await request.json())["seconds"])
        task = asyncio.create_task(telegram.press(seconds))
        pressing.add(task)
        task.add_done_callback(pressing.discard)
        return _json(200, {"ok": True})

    async def calls(_: web.Request) -> web.Response:
        return _json(200, telegram.calls())

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", telegram.call)
    app.router.add_get("/burst/status", status)
    app.router.add_post("/burst/press", press)
    app.router.add_get("/burst/calls", calls)
    return app


async def serve(readers: int, first_reader: int) -> None:
    people = [Person(first_reader + n, f"Reader {n}") for n in range(readers)]
    telegram = BurstTelegram(people, FloodLimits(per_second=30, per_chat_per_second=1))
    runner = web.AppRunner(web_app(telegram), access_log=None)
    await runner.setup()
    listening = socket.create_server(("127.0.0.1", 0), backlog=1024)
    await web.SockSite(runner, listening).start()
    print(listening.getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.burst_telegram")
    parser.add_argument("--readers", type=int, default=400)
    parser.add_argument("--first-reader", type=int, default=100_000)
    options = parser.parse_args(argv)
    asyncio.run(serve(options.readers, options.first_reader))


if __name__ == "__main__":
    main(sys.argv[1:])
