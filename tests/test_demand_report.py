"""/demand: the books readers wait for most, as text, a bar chart and a CSV."""

import asyncio
import csv
import io

from PIL import Image
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.playground.files_and_inline import UploadedFile
from bot.services import Services
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat, Person
from tests.db import add_books, rows, snapshot


async def reserve(services: Services, person: Person, book_id: int) -> None:
    await services.reservations.reserve(Reader(person.id, person.id), book_id)


def csv_table(sent: object) -> list[list[str]]:
    assert isinstance(sent, UploadedFile)
    return list(csv.reader(io.StringIO(sent.content.decode("utf-8-sig"))))


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
    assert table[0][:8] == [
        "book id",
        "title",
        "author",
        "in stock",
        "readers waiting",
        "oldest wait (UTC)",
        "told it's back (last 30 days)",
        "cancelled (last 30 days)",
    ]
    assert [row[:5] + row[6:8] for row in table[1:]] == [
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


# Under RESTOCK_POLICY=hold_in_line: copies on hold, and how holds ended lately.
ON_HOLD_COLOUR = (0xE0, 0xA0, 0x30)


async def statuses(engine: AsyncEngine) -> list[str]:
    return [status for (status,) in await rows(engine, "SELECT status::text FROM pre_bookings")]


async def test_demand_under_holds_counts_holds_and_how_they_ended(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    readers = [Person(2000 + n, f"Reader {n}") for n in range(1, 9)]
    for person in readers[:6]:
        await reserve(hold_services, person, 1)
    await reserve(hold_services, readers[6], 2)
    await reserve(hold_services, readers[7], 2)
    await hold_services.reservations.cancel(Reader(readers[6].id, readers[6].id), 7)
    await hold_chat.send(ADMIN, "/restock 1 3")  # readers 1-3 get a copy each
    await hold_services.holds.collect(ADMIN.id, 1)
    # Reader 2 doesn't need it: reader 4 gets it; reader 3's runs out: reader 5's turn.
    await hold_services.reservations.cancel(Reader(readers[1].id, readers[1].id), 2)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE pre_bookings SET hold_expires_at = now() WHERE id = 3")
        )
    async with asyncio.timeout(10):
        while (await statuses(engine)).count("expired") == 0:
            await asyncio.sleep(0.02)
    await hold_chat.deliveries_done()
    # Dune: collected, released, expired, two on hold, one waiting; Emma: one cancelled.
    assert sorted(await statuses(engine)) == sorted(
        ["collected", "cancelled", "expired", *["on_hold"] * 2, "waiting", "cancelled", "waiting"]
    )

    sent = await hold_chat.send(ADMIN, "/demand")
    assert [request.method for request in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
    reply = sent[0].text
    assert "2 readers waiting for 2 books. 2 copies on hold." in reply
    # One waiting each; Dune's 3 readers have its 2 copies, Emma's reader none: order one.
    assert reply.index("Emma") < reply.index("Dune")
    assert (
        "2. #1 <b>Dune</b> by Frank Herbert: 1 waiting, 2 on hold, the longest waiting since "
        in reply
    )
    assert (
        "    last 30 days: copy set aside 5 · collected 1 · released 1 · expired 1 · cancelled 0"
        in reply
    )
    assert (
        "    last 30 days: copy set aside 0 · collected 0 · released 0 · expired 0 · cancelled 1"
        in reply
    )

    photo = sent[1].params["photo"]
    assert isinstance(photo, UploadedFile)
    colours = Image.open(io.BytesIO(photo.content)).convert("RGB").getcolors(1 << 20)
    assert colours is not None
    assert ON_HOLD_COLOUR in {colour for _, colour in colours}  # the on-hold bars

    table = csv_table(sent[2].params["document"])
    assert table[0][6].startswith("oldest wait (C")  # Berlin's CET or CEST
    assert table[0][:6] + table[0][7:12] == [
        "book id",
        "title",
        "author",
        "in stock",
        "readers waiting",
        "copies on hold",
        "copy set aside (last 30 days)",
        "collected (last 30 days)",
        "released (last 30 days)",
        "expired (last 30 days)",
        "cancelled (last 30 days)",
    ]
    assert [row[:6] + row[7:12] for row in table[1:]] == [
        ["2", "Emma", "Jane Austen", "0", "1", "0", "0", "0", "0", "0", "1"],
        ["1", "Dune", "Frank Herbert", "2", "1", "2", "5", "1", "1", "1", "0"],
    ]
