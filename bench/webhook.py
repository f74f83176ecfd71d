"""Webhook mode's own cost: updates posted over HTTP to the real web server and
Application (the fake Bot API answering at once, no pacing), with and without the shared
record of received updates, and that record's insert alone.

    python3 dev.py bench webhook [--updates 2000] [--in-flight 40] [--runs 3]

40 requests in flight is Telegram's default max_connections for a webhook.
"""

import argparse
import asyncio
import os
import platform
import statistics
import time
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.setup import database_server, fresh_database
from bot.database import create_session_factory
from bot.services import build_services
from bot.telegram.application import build_application
from bot.telegram.texts import reservations
from bot.web.received_updates import ReceivedUpdates
from bot.web.run import Webhook
from bot.web.server import WebServer, web_app
from bot.web.webhook import SECRET_HEADER, WebhookEndpoint
from tests.chat import Person, message_update
from tests.fake_telegram import FakeBotApi, FakeRequest

TOKEN = "123456789:BENCH-token_0123456789abcdefghij"
WEBHOOK = Webhook("https://bot.example.com/hook", "bench-secret")
READERS = 200


class EveryUpdateNew(ReceivedUpdates):
    """The baseline: no record kept, every update taken as new."""

    async def first_time(self, update_id: int) -> bool:
        return True


@dataclass(frozen=True)
class WebhookRun:
    answer_p50_ms: float
    answer_p99_ms: float
    all_handled_s: float
    handled: int


async def post_updates(
    engine: AsyncEngine, count: int, in_flight: int, record: bool
) -> WebhookRun:
    api = FakeBotApi()
    services = build_services(engine, frozenset(), reservations.back_in_stock)
    application = build_application(
        TOKEN, services, messages_per_second=1000, request=FakeRequest(api), polling=False
    )
    sessions = create_session_factory(engine)
    received = ReceivedUpdates(sessions) if record else EveryUpdateNew(sessions)
    endpoint = WebhookEndpoint(application, received, WEBHOOK.secret)
    server = WebServer(web_app(engine, ("/hook", endpoint.answer)), "127.0.0.1", 0)
    readers = [Person(200_000 + n, f"Reader {n}") for n in range(READERS)]
    offset = int(time.time() * 1000) * 100  # update ids unused by earlier runs
    updates = [message_update(offset + n, readers[n % READERS], "/help") for n in range(count)]
    answers: list[float] = []
    slots = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=in_flight)
    async with application:
        await application.start()
        await server.start()
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}", limits=limits
            ) as client:

                async def post(update: dict[str, object]) -> None:
                    async with slots:
                        started = time.perf_counter()
                        for attempt in range(3):
                            try:
                                response = await client.post(
                                    "/hook", json=update, headers={SECRET_HEADER: WEBHOOK.secret}
                                )
                                break
                            except httpx.TransportError:
                                # A keep-alive connection the server closed as it was reused:
                                # Telegram retries too.
                                if attempt == 2:
                                    raise
                        answers.append(time.perf_counter() - started)
                        assert response.status_code == 200

                started = time.perf_counter()
                await asyncio.gather(*(post(update) for update in updates))
                # The fake records synchronously: there is no event to wait on.
                async with asyncio.timeout(300):
                    while len(api.sent("sendMessage")) < count:  # noqa: ASYNC110
                        await asyncio.sleep(0.005)
                all_handled = time.perf_counter() - started
        finally:
            await server.stop()
            await application.stop()
    cuts = statistics.quantiles(answers, n=100)
    return WebhookRun(
        answer_p50_ms=statistics.median(answers) * 1000,
        answer_p99_ms=cuts[98] * 1000,
        all_handled_s=all_handled,
        handled=len(api.sent("sendMessage")),
    )


async def record_alone(engine: AsyncEngine, count: int) -> float:
    """Median milliseconds of one record insert, one after another."""
    received = ReceivedUpdates(create_session_factory(engine))
    offset = int(time.time() * 1000) * 100 + 10_000_000
    times = []
    for n in range(count):
        started = time.perf_counter()
        assert await received.first_time(offset + n)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench webhook")
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    runs: dict[bool, list[WebhookRun]] = {True: [], False: []}
    with database_server() as server_url:
        async with fresh_database(server_url) as (_, engine):
            for run in range(options.runs):
                for record in (False, True):  # alternate, so drift hits both alike
                    result = await post_updates(engine, options.updates, options.in_flight, record)
                    runs[record].append(result)
                    print(f"run {run + 1} record={record}: {result}", flush=True)
            insert_ms = await record_alone(engine, 1000)
    print()
    print(
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Command: `python3 dev.py bench webhook --updates "
        f"{options.updates} --in-flight {options.in_flight} --runs {options.runs}`; medians "
        "of the runs.\n"
    )
    print("| | answer p50 (ms) | answer p99 (ms) | all handled (s) | updates/s |")
    print("| --- | --- | --- | --- | --- |")
    for record, label in ((False, "no record (baseline)"), (True, "record in PostgreSQL")):
        results = runs[record]
        handled = statistics.median(r.all_handled_s for r in results)
        print(
            f"| {label} | {statistics.median(r.answer_p50_ms for r in results):.1f} | "
            f"{statistics.median(r.answer_p99_ms for r in results):.1f} | {handled:.2f} | "
            f"{options.updates / handled:.0f} |"
        )
    print(f"\nOne record insert alone (1,000 in a row): median {insert_ms:.2f} ms.")
