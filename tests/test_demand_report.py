"""/demand: the books readers wait for most, as text, a bar chart and a CSV."""

import csv
import io

from PIL import Image
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat, Person
from tests.db import add_books, snapshot
from tests.fake_telegram import UploadedFile


async def reserve(services: Services, person: Person, book_id: int) -> None:
    await services.reservations.reserve(Reader(person.id, person.id), book_id)


async def test_demand_in_text_chart_and_csv(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(
        services,
        ("Dune", "Frank Herbert", 0),
        ("Emma", "Jane Austen", 0),
        ("Solaris", "Stanisław Lem", 0),
        ("Ulysses", "James Joyce", 0),
    )
    for person in (ALICE, BOB, CAROL):
        await reserve(services, person, 2)
    await reserve(services, ALICE, 1)
    await reserve(services, ALICE, 3)  # told: Solaris comes back
    await reserve(services, BOB, 3)  # cancelled before that
    await reserve(services, CAROL, 4)  # cancelled long ago: not in the report
    await services.reservations.cancel(Reader(BOB.id, BOB.id), 6)
    await services.reservations.cancel(Reader(CAROL.id, CAROL.id), 7)
    await services.restocks.restock(ADMIN.id, 3, 2)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE pre_bookings SET created_at = now() - interval '50 days', "
                "cancelled_at = now() - interval '40 days' WHERE id = 7"
            )
        )
        await connection.execute(
            text("UPDATE pre_bookings SET created_at = now() - interval '9 days' WHERE id = 3")
        )
    await chat.deliveries_done()
    sent = await chat.send(ADMIN, "/demand")
    assert [request.method for request in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert all(request.error_code is None for request in sent)
    reply = sent[0].text
    assert "4 readers waiting for 2 books" in reply
    emma, dune, solaris = (reply.index(name) for name in ("Emma", "Dune", "Solaris"))
    assert emma < dune < solaris
    assert "Ulysses" not in reply
    assert "<b>Emma</b> by Jane Austen: 3 waiting, the longest since " in reply
    assert (
        "<b>Solaris</b> by Stanisław Lem: 0 waiting\n"
        "    last 30 days: told it's back 1 · cancelled 1" in reply
    )

    photo = sent[1].params["photo"]
    assert isinstance(photo, UploadedFile)
    image = Image.open(io.BytesIO(photo.content))
    assert image.format == "PNG"
    assert image.width >= 600

    document = sent[2].params["document"]
    assert isinstance(document, UploadedFile)
    assert document.filename.startswith("demand-")
    assert document.filename.endswith(".csv")
    table = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig"))))
    assert table[0] == [
        "book id",
        "title",
        "author",
        "in stock",
        "readers waiting",
        "oldest wait (UTC)",
        "told it's back (last 30 days)",
        "cancelled (last 30 days)",
    ]
    assert [row[:5] + row[6:] for row in table[1:]] == [
        ["2", "Emma", "Jane Austen", "0", "3", "0", "0"],
        ["1", "Dune", "Frank Herbert", "0", "1", "0", "0"],
        ["3", "Solaris", "Stanisław Lem", "2", "0", "1", "1"],
    ]
    assert table[1][5] < table[2][5]  # Emma's oldest wait began 9 days ago


async def test_many_books_the_text_lists_ten_and_the_csv_all(
    chat: Chat, services: Services
) -> None:
    await add_books(
        services, *[(f"Book {n:02}" + "\U0001d538" * 200, "Anon", 0) for n in range(25)]
    )
    for book_id in range(1, 26):
        await reserve(services, ALICE, book_id)
    sent = await chat.send(ADMIN, "/demand")
    assert [request.error_code for request in sent] == [None, None, None]
    assert "\n10. #" in sent[0].text
    assert "\n11. #" not in sent[0].text
    document = sent[2].params["document"]
    assert len(document.content.decode("utf-8-sig").splitlines()) == 26


async def test_nobody_waiting_is_said_in_words(chat: Chat, services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    [reply] = await chat.send(ADMIN, "/demand")
    assert "Nobody is waiting" in reply.text


async def test_readers_cannot_see_demand(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await reserve(services, BOB, 1)
    before = await snapshot(engine)
    reply = await chat.send_one(ALICE, "/demand")
    assert "only the bookstore's staff" in reply.text
    assert await snapshot(engine) == before
