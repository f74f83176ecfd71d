"""The Mini App's API over a large catalog: a grid's page of 30 books, over HTTP from the
bot's own web server (initData checked, the page read, JSON written), as the page asks
for it: the first page, a page deep in the catalog, and searches as a reader types.
Then --browsing readers browse from another process (a page, a search, the next page,
--think seconds apart) while chat readers send /books and /search to the same bot
process: the chat's replies with and without them.

    python -m bench.mini_app [--books 100000] [--runs 200] [--browsing 100] [--seconds 20]
        [--think 1.0]

The books are bench/search.py's (Zipf-distributed words, one in ten Cyrillic).
"""

import argparse
import asyncio
import os
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlencode

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bench.search import add_books, catalog
from bench.setup import database_server, fresh_database
from bot.mini_app.routes import mini_app_routes
from bot.services import build_services
from bot.telegram.application import build_application
from bot.telegram.context import BotApplication
from bot.telegram.reader_messages import TelegramMessages
from bot.web.server import WebServer, web_app
from tests.chat import Person, message_update
from tests.fake_telegram import FakeBotApi, FakeRequest
from tests.mini_app import signed_as

TOKEN = "123456789:TEST-token_0123456789abcdefghij"
WARM_UP_RUNS = 10
READER = Person(300_001, "Reader")


CHAT_READERS = [Person(400_000 + n, f"Chatter {n}") for n in range(20)]
# One chat message every this many seconds: a busy shop's chat, beside the browsing.
CHAT_EVERY = 0.05


def p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, round(0.99 * len(values)))]


async def report(
    server_url: str,
    book_count: int,
    runs: int,
    browsing: int = 0,
    seconds: float = 20,
    think: float = 1.0,
) -> str:
    books, queries = catalog(book_count)
    common, two, author = (
        str(queries[name]) for name in ("common word", "two words", "author's surname")
    )
    requests: dict[str, dict[str, str]] = {
        "first page": {},
        "page 100": {"page": "100"},
        "typing: 'th'": {"q": "th"},
        f"common word `{common}`": {"q": common},
        f"two words `{two}`": {"q": two},
        f"author `{author}`": {"q": author},
        "no match": {"q": "qqqzzx"},
    }
    rows = {}
    async with fresh_database(server_url) as (_, engine):
        await add_books(engine, books)
        async with engine.connect() as connection:
            version = await connection.scalar(text("SHOW server_version"))
        services = build_services(engine, TelegramMessages())
        application = build_application(
            TOKEN, services, messages_per_second=1000, request=FakeRequest(FakeBotApi())
        )
        server = WebServer(web_app(engine, mini_app=mini_app_routes(application)), "127.0.0.1", 0)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                for label, params in requests.items():
                    path = "/app/api/books?" + urlencode(params)
                    spent = []
                    for run in range(WARM_UP_RUNS + runs):
                        headers = signed_as(READER)
                        started = time.perf_counter()
                        response = await client.get(path, headers=headers)
                        elapsed = time.perf_counter() - started
                        assert response.status_code == 200, response.text
                        if run >= WARM_UP_RUNS:
                            spent.append(elapsed * 1000)
                    shown = len(response.json()["books"])
                    rows[label] = (spent, shown)
        finally:
            await server.stop()
        concurrent = ""
        if browsing:
            concurrent = await concurrent_report(engine, browsing, seconds, think)
    lines = [
        f"The Mini App's catalog page over {book_count:,} books, PostgreSQL {version}, "
        f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end), Python "
        f"{platform.python_version()}: GET /app/api/books over HTTP on the bot's web "
        f"server, initData checked each time, {runs} runs each, milliseconds.",
        "",
        "| request | books shown | median | p99 |",
        "| --- | --- | --- | --- |",
    ]
    for label, (spent, shown) in rows.items():
        lines.append(
            f"| {label} | {shown} | **{statistics.median(spent):.2f}** | {p99(spent):.2f} |"
        )
    return "\n".join(lines) + ("\n\n" + concurrent if concurrent else "")


async def chat_replies(
    application: BotApplication, seconds: float, words: list[str]
) -> list[float]:
    """Milliseconds from each chat message (/books or /search) to its reply being sent."""
    spent = []
    stop = time.monotonic() + seconds
    number = int(time.time() * 1000) * 100
    while time.monotonic() < stop:
        number += 1
        reader = CHAT_READERS[number % len(CHAT_READERS)]
        text = "/books" if number % 2 else f"/search {words[number % len(words)]}"
        update = Update.de_json(message_update(number, reader, text), application.bot)
        started = time.perf_counter()
        await application.process_update(update)
        spent.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(CHAT_EVERY)
    return spent


async def browse(
    client: httpx.AsyncClient, reader: Person, words: list[str], stop: float, think: float
) -> list[float]:
    """One reader browsing: the first page, a search typed in two steps, its next page,
    think seconds between requests (reading, typing); milliseconds each."""
    spent = []
    step = reader.id
    await asyncio.sleep(think * (reader.id % 100) / 100)  # not all in step
    while time.monotonic() < stop:
        word = words[step % len(words)]
        step += 1
        for params in ({}, {"q": word[:2]}, {"q": word}, {"q": word, "page": "2"}):
            started = time.perf_counter()
            response = await client.get(
                "/app/api/books?" + urlencode(params), headers=signed_as(reader)
            )
            spent.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            await asyncio.sleep(think)
    return spent


def browsers(port: int, count: int, seconds: float, think: float, words: list[str]) -> list[float]:
    """count readers browsing for seconds, from another process (as their phones are)."""

    async def all_of_them() -> list[float]:
        limits = httpx.Limits(max_connections=count)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
        ) as client:
            stop = time.monotonic() + seconds
            readers = [Person(500_000 + n, f"Browser {n}") for n in range(count)]
            found = await asyncio.gather(*(browse(client, r, words, stop, think) for r in readers))
        return [each for reader in found for each in reader]

    return asyncio.run(all_of_them())


async def concurrent_report(
    engine: AsyncEngine, browsing: int, seconds: float, think: float
) -> str:
    """The chat's replies alone, then beside browsing readers, in one bot process."""
    services = build_services(engine, TelegramMessages())
    application = build_application(
        TOKEN, services, messages_per_second=1000, request=FakeRequest(FakeBotApi())
    )
    words = ["the", "war", "night", "love", "house", "river", "king", "peace"]
    server = WebServer(web_app(engine, mini_app=mini_app_routes(application)), "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    async with application:
        await server.start()
        try:
            await chat_replies(application, 2, words)  # warm up
            alone = await chat_replies(application, seconds, words)
            with ProcessPoolExecutor(1) as pool:
                requests, beside = await asyncio.gather(
                    loop.run_in_executor(
                        pool, browsers, server.port, browsing, seconds, think, words
                    ),
                    chat_replies(application, seconds, words),
                )
        finally:
            await server.stop()
    return "\n".join(
        [
            f"{browsing} readers browsing the Mini App for {seconds:.0f} s from another process "
            f"(a page, a search typed in two steps, its next page; {think:.1f} s between "
            f"requests), while {len(CHAT_READERS)} chat readers send /books and /search to "
            f"the same bot process every {CHAT_EVERY * 1000:.0f} ms; milliseconds (load "
            f"average {os.getloadavg()[0]:.1f} at the end).",
            "",
            "| | chat replies | p50 | p99 | Mini App requests | p50 | p99 | requests/s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| chat alone | {len(alone)} | {statistics.median(alone):.1f} | "
            f"{p99(alone):.1f} | | | | |",
            f"| beside {browsing} browsing | {len(beside)} | **{statistics.median(beside):.1f}**"
            f" | **{p99(beside):.1f}** | {len(requests)} | {statistics.median(requests):.1f} "
            f"| {p99(requests):.1f} | {len(requests) / seconds:.0f} |",
        ]
    )


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mini_app")
    parser.add_argument("--books", type=int, default=100_000, help="books in the catalog")
    parser.add_argument("--runs", type=int, default=200, help="runs of each request")
    parser.add_argument("--browsing", type=int, default=100, help="readers browsing at once")
    parser.add_argument("--seconds", type=float, default=20, help="how long they browse")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between requests")
    options = parser.parse_args()
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    with database_server() as server_url:
        print(
            await report(
                server_url, options.books, options.runs, options.browsing, options.seconds
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
