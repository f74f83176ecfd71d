"""Search over a large catalog: the whole /search page (count and page, one transaction)
as the bot runs it, before (substring LIKE on lower(), commit 81cfb98), with the exact
count (keys folded in Python, word-prefix full-text search on a GIN index, commit 33b8c8e)
and after (the same search, matches counted a window of pages ahead), on the same books.

Alone: `python -m bench.search [--books N] [--runs N]` (python3 dev.py bench runs it too).
"""

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence

from alembic import command
from sqlalchemy import Connection, cast, column, func, select, table, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bench.setup import database_server, fresh_database
from bot.books.folding import prefix_query
from bot.books.models import Book
from bot.books.repository import BookRepository
from bot.books.rules import checked_search
from bot.books.schemas import NewBook
from bot.books.service import BOOKS_PAGE_SIZE
from bot.pagination import PageRequest
from bot.postgres import migrate
from bot.services import build_services
from bot.telegram.reader_messages import TelegramMessages

VOCABULARY_SIZE = 3000
CONSONANTS = "bcdfghklmnprstvwz"
VOWELS = "aeiou"
CYRILLIC = str.maketrans("bcdfghklmnprstvwzaeiou", "бцдфгхклмнпрствшзаеиоу")
# What readers type: a rare word, a common one, a short prefix, two words, an author,
# uppercase Cyrillic, nothing that exists, and the catalog itself (no text).
QUERIES: dict[str, str | None] = {
    "rare word": "",
    "common word": "the",
    "two-letter prefix": "",
    "two words": "",
    "author's surname": "",
    "Cyrillic, upper case": "",
    "no match": "qqqzzx",
    "catalog (no text)": None,
}

WARM_UP_RUNS = 5  # untimed, so the first timed run finds the caches as the others do

Search = Callable[[str | None], Awaitable[int]]


def vocabulary(chance: random.Random) -> list[str]:
    """Made-up words in Zipf order: 'the' first, as common as in real titles."""
    words = ["the", "of", "and", "war", "peace", "night", "love", "house", "river", "king"]
    while len(words) < VOCABULARY_SIZE:
        syllables = chance.randint(1, 4)
        word = "".join(chance.choice(CONSONANTS) + chance.choice(VOWELS) for _ in range(syllables))
        if word not in words:
            words.append(word)
    return words


def catalog(count: int) -> tuple[list[NewBook], dict[str, str | None]]:
    """count books: 2-6 Zipf-distributed words a title, one in ten Cyrillic, one in
    fifty with CJK; 2,000 authors. And the queries, picked from the same words."""
    chance = random.Random(8)
    words = vocabulary(chance)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    surnames = [word.capitalize() for word in chance.sample(words[100:], 2000)]
    books = []
    for n in range(count):
        title = " ".join(chance.choices(words, weights, k=chance.randint(2, 6))).capitalize()
        if n % 10 == 3:
            title = title.translate(CYRILLIC)
        if n % 50 == 7:
            title += " " + "".join(chr(chance.randint(0x4E00, 0x9FFF)) for _ in range(4))
        author = f"{chance.choice(surnames)[:3]}. {chance.choice(surnames)}"
        books.append(NewBook(f"{title} ({n})", author, n % 3))
    queries = dict(QUERIES)
    queries["rare word"] = words[-1]
    queries["two-letter prefix"] = words[20][:2]
    queries["two words"] = f"{words[3]} {words[60]}"
    queries["author's surname"] = surnames[7]
    queries["Cyrillic, upper case"] = words[30].translate(CYRILLIC).upper()
    return books, queries


async def add_books(engine: AsyncEngine, books: Sequence[NewBook]) -> None:
    """Through the bot's repository, so the keys are folded as the bot folds them."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    for start in range(0, len(books), 5000):
        async with sessions.begin() as session:
            await BookRepository(session).add_many(books[start : start + 5000])
    await vacuum(engine)


async def vacuum(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE books"))


async def downgrade_to_original(engine: AsyncEngine) -> None:
    """The schema as at 81cfb98: migration 0002, books with the lower() unique index."""

    def run(sync_connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = sync_connection
        command.downgrade(config, "0002")

    async with engine.begin() as connection:
        await connection.run_sync(run)


OLD_BOOKS = table("books", column("id"), column("title"), column("author"))


def original_search(engine: AsyncEngine) -> Search:
    """BookRepository.page at 81cfb98: substring LIKE on lower(), a count, then the page."""
    sessions = async_sessionmaker(engine)

    async def search(query: str | None) -> int:
        query = checked_search(query)
        matching = select(OLD_BOOKS)
        if query:
            matching = matching.where(
                OLD_BOOKS.c.title.icontains(query, autoescape=True)
                | OLD_BOOKS.c.author.icontains(query, autoescape=True)
            )
        async with sessions.begin() as session:
            total = await session.scalar(select(func.count()).select_from(matching.subquery()))
            assert total is not None
            request = PageRequest(1, BOOKS_PAGE_SIZE).clamped(total)
            page = await session.execute(
                matching.order_by(func.lower(OLD_BOOKS.c.title), OLD_BOOKS.c.id)
                .offset(request.offset)
                .limit(request.size)
            )
            page.all()
        return total

    return search


def exact_count_search(engine: AsyncEngine) -> Search:
    """BookRepository.page at 33b8c8e: the same search, an exact count, then the page."""
    sessions = async_sessionmaker(engine)

    async def search(query: str | None) -> int:
        query = checked_search(query)
        matching = select(Book)
        if query is not None:
            words = prefix_query(query)
            assert words is not None
            matching = matching.where(Book.search_vector.op("@@")(cast(words, TSQUERY)))
        async with sessions.begin() as session:
            total = await session.scalar(select(func.count()).select_from(matching.subquery()))
            assert total is not None
            request = PageRequest(1, BOOKS_PAGE_SIZE).clamped(total)
            page = await session.scalars(
                matching.order_by(Book.title_key, Book.id)
                .offset(request.offset)
                .limit(request.size)
            )
            page.all()
        return total

    return search


def current_search(engine: AsyncEngine) -> Search:
    """The bot's own service call, as /search and /books make it."""
    books = build_services(engine, TelegramMessages()).books

    async def search(query: str | None) -> int:
        page = await books.list_books(1, query)
        return -page.total if page.more else page.total  # negative: "more than"

    return search


async def timings(
    variants: dict[str, Search], query: str | None, runs: int
) -> dict[str, tuple[list[float], int]]:
    """Milliseconds of each run and the match count, per variant; the variants take
    turns, so a busy moment of the machine falls on both alike."""
    for _ in range(WARM_UP_RUNS):
        totals = {name: await search(query) for name, search in variants.items()}
    spent: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, search in variants.items():
            started = time.perf_counter()
            await search(query)
            spent[name].append(1000 * (time.perf_counter() - started))
    return {name: (spent[name], totals[name]) for name in variants}


def p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, round(0.99 * len(values)))]


async def search_report(server_url: str, book_count: int, runs: int) -> str:
    books, queries = catalog(book_count)
    rows = {}
    async with fresh_database(server_url) as (_, before), fresh_database(server_url) as (_, after):
        await add_books(after, books)
        await add_books(before, books)
        await downgrade_to_original(before)
        await vacuum(before)
        async with after.connect() as connection:
            version = await connection.scalar(text("SHOW server_version"))
            ctype = await connection.scalar(
                text("SELECT datctype FROM pg_database WHERE datname = current_database()")
            )
        variants = {
            "before": original_search(before),
            "exact count": exact_count_search(after),
            "after": current_search(after),
        }
        for label, query in queries.items():
            rows[label] = await timings(variants, query, runs)
    lines = [
        f"Search over {book_count:,} books, PostgreSQL {version} (lc_ctype {ctype}), "
        f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end), "
        f"Python {platform.python_version()}: the whole /search "
        f"page (count and first page, one transaction) through the service, {runs} runs "
        "each, milliseconds.",
        "",
        "| query | matches before / exact / after | before median | before p99 "
        "| exact count median | exact count p99 | after median | after p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, query in queries.items():
        (old, old_total), (exact, exact_total), (new, new_total) = (
            rows[label][variant] for variant in variants
        )
        shown = "" if query is None else f" `{query}`"
        counted = f"more than {-new_total:,}" if new_total < 0 else f"{new_total:,}"
        lines.append(
            f"| {label}{shown} | {old_total:,} / {exact_total:,} / {counted} "
            f"| {statistics.median(old):.1f} | {p99(old):.1f} "
            f"| {statistics.median(exact):.2f} | {p99(exact):.2f} "
            f"| **{statistics.median(new):.2f}** | {p99(new):.2f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--books", type=int, default=100_000, help="books in the catalog")
    parser.add_argument("--runs", type=int, default=50, help="runs of each query")
    options = parser.parse_args()
    with database_server() as server_url:
        print(await search_report(server_url, options.books, options.runs))


if __name__ == "__main__":
    asyncio.run(main())
