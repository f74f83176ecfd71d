"""The playground's shop: its people and a sample catalog, and starting over."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books.service import CatalogRow
from bot.services import Services


@dataclass(frozen=True)
class Persona:
    """Someone chatting with the bot in the playground."""

    id: int
    first_name: str
    username: str
    role: str

    def as_user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "username": self.username,
        }


STAFF = Persona(9001, "Dana", "dana_at_the_shop", "staff")
PERSONAS = (
    Persona(1001, "Alice", "alice_reads", "reader"),
    Persona(1002, "Ben", "ben_books", "reader"),
    STAFF,
)

# A dozen books as a small shop might have them; the sold-out ones can be reserved.
SAMPLE_BOOKS = (
    ("Dune", "Frank Herbert", 0),
    ("The Left Hand of Darkness", "Ursula K. Le Guin", 2),
    ("Pride and Prejudice", "Jane Austen", 4),
    ("War and Peace", "Leo Tolstoy", 0),
    ("One Hundred Years of Solitude", "Gabriel García Márquez", 3),
    ("The Master and Margarita", "Mikhail Bulgakov", 0),
    ("Beloved", "Toni Morrison", 1),
    ("The Name of the Rose", "Umberto Eco", 5),
    ("Things Fall Apart", "Chinua Achebe", 2),
    ("Never Let Me Go", "Kazuo Ishiguro", 0),
    ("Middlemarch", "George Eliot", 1),
    ("The Remains of the Day", "Kazuo Ishiguro", 3),
)

TABLES = "notifications, restocks, pre_bookings, books, users"


async def stock_if_empty(engine: AsyncEngine, services: Services) -> None:
    """Load the sample catalog on the first start (a shop with no books yet)."""
    async with engine.connect() as connection:
        books = await connection.scalar(text("SELECT count(*) FROM books"))
    if not books:
        await services.books.import_books(
            CatalogRow(line, (title, author, str(quantity)))
            for line, (title, author, quantity) in enumerate(SAMPLE_BOOKS, start=2)
        )


async def start_over(engine: AsyncEngine, services: Services) -> None:
    """Everything forgotten, the sample catalog back: the playground's own database only."""
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    await stock_if_empty(engine, services)
