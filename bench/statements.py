"""What unnamed statements (the bot's, for PgBouncer: bot/database_url.py) cost: a reader's
two read-only screens and a booking in the shared flood budget, one after another. Run it
from this checkout and from one before the change, alternately:
`.venv/bin/python -m bench.statements [--runs N]`.

No commit waits in these steps, so the time is the statements' own.
"""

import argparse
import asyncio
import statistics
import time

from bench.setup import database_server, fresh_database
from bot.database_url import parse_database_url
from bot.delivery.flood_budget.ledger import SharedFloodBudget
from bot.services import Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader

ADMIN_ID = 1
PAIRS = 200
BOOKINGS = 500


async def time_statements(server_url: str, runs: int) -> tuple[float, float]:
    """Medians: ms for the catalog's first page plus the reader's reservations; ms for
    booking a reply's slot."""
    async with fresh_database(server_url) as (url, engine):
        services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN_ID})))
        books = [
            await services.books.add_book(ADMIN_ID, f"Book {n}", "Author", 0) for n in range(30)
        ]
        reader = Reader(1000, 1000)
        for book in books[:8]:
            await services.reservations.reserve(reader, book.id)
        budget = SharedFloodBudget(parse_database_url(url).connect, 1000)
        pairs, bookings = [], []
        try:
            for chat in range(1, 51):  # warm up: the pool's connections, the ledger's
                await services.books.list_books(1)
                await services.reservations.list_reservations(reader)
                await budget.book_reply(chat)
            for _ in range(runs):
                start = time.perf_counter()
                for _ in range(PAIRS):
                    await services.books.list_books(1)
                    await services.reservations.list_reservations(reader)
                pairs.append((time.perf_counter() - start) / PAIRS * 1000)
                start = time.perf_counter()
                for chat in range(1, BOOKINGS + 1):
                    await budget.book_reply(chat)
                bookings.append((time.perf_counter() - start) / BOOKINGS * 1000)
        finally:
            await budget.close()
    return statistics.median(pairs), statistics.median(bookings)


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.statements")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with database_server() as server_url:
        pair, booking = await time_statements(server_url, options.runs)
    print(f"catalog + reservations: {pair:.2f} ms; a flood-budget booking: {booking:.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
