"""A book by its ISBN in a catalog of 100,000 books, each with an ISBN: /search <ISBN>
(BookService.list_books), /book <ISBN> (CardService.card_by_isbn) and a reader's /request
<ISBN> (SpecialOrderService.request) through the services,
with the unique index uq_books_isbn (after) and, in the same run and database, without it
(before: the index dropped, as on a schema without it).

Alone: `python -m bench.isbn [--books N] [--runs N]`.
"""

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bench.search import add_books, p99, vacuum
from bench.setup import database_server, fresh_database
from bot.books.repository import BookRepository
from bot.books.schemas import NewBook
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader

WARM_UP_RUNS = 5
READER = Reader(telegram_id=42, chat_id=42, first_name="Bench")


def isbn13(body: int) -> str:
    """978 and nine digits, with the ISBN-13 check digit."""
    digits = f"978{body:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def catalog(count: int) -> list[NewBook]:
    chance = random.Random(22)
    bodies = chance.sample(range(10**9), count)
    return [
        NewBook(f"Title {n}", f"Author {n % 2000}", n % 3, isbn13(body))
        for n, body in enumerate(bodies)
    ]


async def timed(lookup: Callable[[str], Awaitable[object]], isbns: list[str]) -> list[float]:
    for isbn in isbns[:WARM_UP_RUNS]:
        await lookup(isbn)
    spent = []
    for isbn in isbns:
        started = time.perf_counter()
        await lookup(isbn)
        spent.append((time.perf_counter() - started) * 1000)
    return spent


async def lookups(engine: AsyncEngine, isbns: list[str]) -> dict[str, list[float]]:
    services = build_services(engine, TelegramMessages(), Shop())

    async def search(isbn: str) -> object:
        page = await services.books.list_books(query=isbn)
        assert page.total == 1, isbn
        return page

    async def card(isbn: str) -> object:
        return await services.cards.card_by_isbn(READER, isbn)

    sessions = async_sessionmaker(engine)

    async def find(isbn: str) -> object:
        async with sessions.begin() as session:
            return await BookRepository(session).find_by_isbn(isbn)

    ids = {}
    for isbn in isbns:
        async with sessions.begin() as session:
            book = await BookRepository(session).find_by_isbn(isbn)
            ids[isbn] = book.id if book is not None else 0

    async def card_by_id(isbn: str) -> object:
        return await services.cards.card(READER, ids[isbn])

    async def request(isbn: str) -> object:
        # A book the catalog has: the reader is answered with its card's id, after the
        # lookups by ISBN in the catalog and in the open requests (one transaction).
        found = await services.special_orders.request(READER, isbn)
        assert getattr(found, "book_id", None) == ids[isbn], (isbn, found)
        return found

    return {
        "the lookup alone (BookRepository.find_by_isbn)": await timed(find, isbns),
        "/search <ISBN>": await timed(search, isbns),
        "/book <ISBN> (the whole card)": await timed(card, isbns),
        "/book <id>, for comparison (no ISBN)": await timed(card_by_id, isbns),
        "/request <ISBN> of a book in the catalog (special orders)": await timed(request, isbns),
    }


async def isbn_report(server_url: str, book_count: int, runs: int) -> str:
    books = catalog(book_count)
    chance = random.Random(7)
    isbns = [book.isbn or "" for book in chance.sample(books, runs)]
    async with fresh_database(server_url) as (_, engine):
        await add_books(engine, books)
        after = await lookups(engine, isbns)
        async with engine.begin() as connection:
            await connection.execute(text("DROP INDEX uq_books_isbn"))
        await vacuum(engine)
        before = await lookups(engine, isbns)
        async with engine.connect() as connection:
            version = await connection.scalar(text("SHOW server_version"))
    lines = [
        f"A book by ISBN among {book_count:,} books, PostgreSQL {version}, {os.cpu_count()} "
        f"cores (load average {os.getloadavg()[0]:.1f} at the end), Python "
        f"{platform.python_version()}: {runs} different ISBNs each, through the services "
        "(one transaction each), milliseconds.",
        "",
        "| lookup | without the index median | p99 | with uq_books_isbn median | p99 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label in after:
        lines.append(
            f"| {label} | {statistics.median(before[label]):.1f} | {p99(before[label]):.1f} "
            f"| **{statistics.median(after[label]):.2f}** | {p99(after[label]):.2f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.isbn")
    parser.add_argument("--books", type=int, default=100_000, help="books in the catalog")
    parser.add_argument("--runs", type=int, default=200, help="ISBNs looked up")
    options = parser.parse_args()
    with database_server() as server_url:
        print(await isbn_report(server_url, options.books, options.runs))


if __name__ == "__main__":
    asyncio.run(main())
