"""/demand lists readers' open special orders (issue 22, item 3) with their number of
readers: in the text after the books, most wanted first, and as rows of the CSV. The
requests are written straight into their tables, as /request would have left them."""

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from bot.telegram.texts.formatting import plain_length
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat, Person
from tests.db import add_books
from tests.test_demand_ordering import csv_table, readers, reserve_all

SOLARIS_ISBN = "9780156027601"


async def request(
    engine: AsyncEngine,
    title: str,
    author: str | None,
    asking: Sequence[Person],
    *,
    isbn: str | None = None,
    status: str = "open",
    withdrawn: Sequence[Person] = (),
) -> int:
    """A request as /request leaves it: its readers in the order they asked, those in
    withdrawn having taken it back; status 'ordered' or 'declined' as staff left it."""
    key = f"isbn:{isbn}" if isbn else f"words:{title.lower()} {(author or '').lower()}"
    async with engine.begin() as connection:
        request_id = await connection.scalar(
            text(
                "INSERT INTO book_requests (title, author, isbn, match_key, status) "
                "VALUES (:title, :author, :isbn, :key, :status) RETURNING id"
            ),
            {"title": title, "author": author, "isbn": isbn, "key": key, "status": status},
        )
        for person in asking:
            await connection.execute(
                text(
                    "INSERT INTO users (telegram_id, chat_id) VALUES (:id, :id) "
                    "ON CONFLICT (telegram_id) DO NOTHING"
                ),
                {"id": person.id},
            )
            await connection.execute(
                text(
                    "INSERT INTO book_request_readers (request_id, user_id, withdrawn_at) "
                    "SELECT :request, id, CASE WHEN :withdrawn THEN now() END FROM users "
                    "WHERE telegram_id = :id"
                ),
                {"request": request_id, "id": person.id, "withdrawn": person in withdrawn},
            )
    assert isinstance(request_id, int)
    return request_id


async def test_open_requests_most_wanted_first_in_text_and_csv(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """Two readers before one (the one asked first); a reader who withdrew is not
    counted; ordered and declined requests are not open."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await reserve_all(services, [ALICE], 1)
    left_hand = await request(
        engine, "The Left Hand of Darkness", "Ursula K. Le Guin", [ALICE, BOB], withdrawn=[BOB]
    )
    solaris = await request(engine, "Solaris", "Stanisław Lem", [BOB, CAROL], isbn=SOLARIS_ISBN)
    await request(engine, "Dune Messiah", "Frank Herbert", [ALICE, BOB, CAROL], status="ordered")
    await request(engine, "Emma & Mr Knightley", None, [ALICE, CAROL], status="declined")
    await chat.deliveries_done()

    sent = await chat.send(ADMIN, "/demand")
    assert [call.method for call in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert all(call.error_code is None for call in sent)
    reply = sent[0].text
    assert reply.endswith(
        "\n\n<b>Special orders</b>: 2 open, the most readers first:\n"
        f"• request {solaris}: <b>Solaris</b> by Stanisław Lem (ISBN {SOLARIS_ISBN}), "
        "2 readers\n"
        f"• request {left_hand}: <b>The Left Hand of Darkness</b> by Ursula K. Le Guin, "
        "1 reader"
    )
    assert reply.index("Dune</b> by Frank Herbert: 1 waiting") < reply.index("Special orders")
    assert "Messiah" not in reply
    assert "Knightley" not in reply

    table = csv_table(sent[2].params["document"])
    assert table[0][:5] == ["book id", "title", "author", "in stock", "readers waiting"]
    assert table[0][-5:] == [
        "hold ratio",
        "suggested order (target 3)",
        "kind",
        "request id",
        "ISBN",
    ]
    assert all(len(row) == len(table[0]) for row in table)
    oldest = table[0].index("oldest wait (UTC)")
    assert [row[:5] + row[-3:] for row in table[1:]] == [
        ["1", "Dune", "Frank Herbert", "0", "1", "book", "", ""],
        ["", "Solaris", "Stanisław Lem", "", "2", "special order", str(solaris), SOLARIS_ISBN],
        [
            "",
            "The Left Hand of Darkness",
            "Ursula K. Le Guin",
            "",
            "1",
            "special order",
            str(left_hand),
            "",
        ],
    ]
    # When the first reader asked; nothing under the outcomes and the order to suggest.
    assert [row[oldest][:2] for row in table[2:]] == ["20", "20"]
    assert [set(row[oldest + 1 : -3]) for row in table[2:]] == [{""}, {""}]


async def test_requests_without_books_in_demand_come_in_text_and_csv(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """Nobody waits for a catalog book: the text says so, then lists the requests, and
    the CSV (no chart: it would have no bar) has them."""
    await request(engine, "Солярис", "Станислав Лем", [ALICE])
    sent = await chat.send(ADMIN, "/demand")
    assert [call.method for call in sent] == ["sendMessage", "sendDocument"]
    assert sent[0].text.startswith("Nobody is waiting for any book")
    assert "<b>Солярис</b> by Станислав Лем, 1 reader" in sent[0].text
    table = csv_table(sent[1].params["document"])
    assert [row[1:3] + row[-3:-1] for row in table[1:]] == [
        ["Солярис", "Станислав Лем", "special order", "1"]
    ]


async def test_many_long_requests_stay_within_a_message(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """Ten books and ten requests, every name as long as it may be, fit in one
    message; the other requests are counted, and the CSV has every one."""
    long = "\U0001d538" * 240
    await add_books(services, *[(f"Book {n:02}{long}", long, 0) for n in range(12)])
    for book_id in range(1, 13):
        await reserve_all(services, [ALICE], book_id)
    for n in range(25):
        await request(engine, f"Request {n:02}{long}", long, readers(5000 + 100 * n, 25 - n))
    sent = await chat.send(ADMIN, "/demand")
    assert [call.error_code for call in sent] == [None, None, None]
    reply = sent[0].text
    assert plain_length(reply) <= 4096
    assert "\n10. #" in reply
    assert reply.count("• request ") == 10
    assert "25 readers" in reply
    assert reply.endswith("\nand 15 more in the CSV.")
    table = csv_table(sent[2].params["document"])
    assert [row[4] for row in table[13:]] == [str(25 - n) for n in range(25)]
