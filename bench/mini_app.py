"""The Mini App's API over a large catalog: a grid's page of 30 books, over HTTP from the
bot's own web server (initData checked, the page read, JSON written), as the page asks
for it: the first page, a page deep in the catalog, and searches as a reader types.

    python -m bench.mini_app [--books 100000] [--runs 200]

The books are bench/search.py's (Zipf-distributed words, one in ten Cyrillic).
"""

import argparse
import asyncio
import os
import platform
import statistics
import time
from urllib.parse import urlencode

import httpx
from sqlalchemy import text

from bench.search import add_books, catalog
from bench.setup import database_server, fresh_database
from bot.mini_app.routes import mini_app_routes
from bot.services import build_services
from bot.telegram.application import build_application
from bot.telegram.reader_messages import TelegramMessages
from bot.web.server import WebServer, web_app
from tests.chat import Person
from tests.fake_telegram import FakeBotApi, FakeRequest
from tests.mini_app import signed_as

TOKEN = "123456789:TEST-token_0123456789abcdefghij"
WARM_UP_RUNS = 10
READER = Person(300_001, "Reader")


def p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, round(0.99 * len(values)))]


async def report(server_url: str, book_count: int, runs: int) -> str:
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
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mini_app")
    parser.add_argument("--books", type=int, default=100_000, help="books in the catalog")
    parser.add_argument("--runs", type=int, default=200, help="runs of each request")
    options = parser.parse_args()
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    with database_server() as server_url:
        print(await report(server_url, options.books, options.runs))


if __name__ == "__main__":
    asyncio.run(main())
