"""Paused readers still want their book: /demand (text, chart, CSV), /holds and the book
card count them beside the waiting ones, through the real Application. A shop with no
pauses reads as before (test_demand_report, test_book_cards, test_hold_conversations)."""

import io

from PIL import Image

from bot.services import Services
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat
from tests.db import add_books
from tests.test_demand_report import csv_table
from tests.test_hold_conversations import staff_restock

PAUSED_COLOUR = (0x9F, 0xB8, 0xCC)


async def test_demand_counts_paused_readers_and_lists_a_book_with_only_paused_ones(
    chat: Chat, services: Services
) -> None:
    await add_books(
        services,
        ("Dune", "Frank Herbert", 0),
        ("Emma", "Jane Austen", 0),
        ("Solaris", "Stanisław Lem", 0),
    )
    await chat.send_one(ALICE, "/reserve 1")  # 1: Dune, one waiting
    await chat.send_one(BOB, "/reserve 2")  # 2, 3: Emma, both paused
    await chat.send_one(CAROL, "/reserve 2")
    for person in (ALICE, BOB, CAROL):  # 4, 5, 6: Solaris, Carol paused
        await chat.send_one(person, "/reserve 3")
    for person, reservation in ((BOB, 2), (CAROL, 3), (CAROL, 6)):
        paused = await chat.send_one(person, f"/pause {reservation}")
        assert paused.text.startswith("⏸ Paused reservation")

    sent = await chat.send(ADMIN, "/demand")
    assert [request.error_code for request in sent] == [None, None, None]
    reply = sent[0].text
    assert "3 readers waiting for 2 books. 3 readers paused." in reply
    # Ranked by waiting and paused together: Solaris 3, Emma 2, Dune 1.
    assert reply.index("Solaris") < reply.index("Emma") < reply.index("Dune")
    assert "<b>Solaris</b> by Stanisław Lem: 2 waiting, 1 paused, the longest since " in reply
    assert "<b>Emma</b> by Jane Austen: 0 waiting, 2 paused\n    last 30 days: " in reply
    assert "<b>Dune</b> by Frank Herbert: 1 waiting, the longest since " in reply

    colours = Image.open(io.BytesIO(sent[1].params["photo"].content)).convert("RGB")
    found = colours.getcolors(1 << 20)
    assert found is not None
    assert PAUSED_COLOUR in {colour for _, colour in found}  # the paused bars

    table = csv_table(sent[2].params["document"])
    assert table[0][:5] == ["book id", "title", "author", "in stock", "readers waiting"]
    # Added after the columns there were before pauses, which keep their places.
    paused_column = table[0].index("readers paused")
    assert paused_column > table[0].index("readers waiting")
    assert [[row[0], row[4], row[paused_column]] for row in table[1:]] == [
        ["3", "2", "1"],
        ["2", "0", "2"],
        ["1", "1", "0"],
    ]


async def test_holds_counts_paused_readers_beside_the_waiting_ones(
    hold_chat: Chat, hold_services: Services
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    for person in (ALICE, BOB, CAROL):
        await hold_chat.send_one(person, "/reserve 1")
    await hold_chat.send_one(CAROL, "/pause 3")
    await staff_restock(hold_chat, "/restock 1 1")
    await hold_chat.deliveries_done()

    report = await hold_chat.send_one(ADMIN, "/holds 1")
    assert report.text.startswith(
        "<b>Holds</b> for #1 <b>Dune</b> by Frank Herbert: 1 on hold, 0 free, 1 waiting, 1 paused."
    )

    # Carol resumes: nobody paused, the report reads as it did before pauses.
    await hold_chat.send_one(CAROL, "/resume 3")
    again = await hold_chat.send_one(ADMIN, "/holds 1")
    assert again.text.startswith(
        "<b>Holds</b> for #1 <b>Dune</b> by Frank Herbert: 1 on hold, 0 free, 2 waiting.\n"
    )


async def test_the_card_counts_paused_readers(chat: Chat, services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    for person in (ALICE, BOB, CAROL):
        await chat.send_one(person, "/reserve 1")
    await chat.send_one(BOB, "/pause 2")
    await chat.send_one(ALICE, "/reserve 2")
    await chat.send_one(ALICE, "/pause 4")

    dune = await chat.send_one(CAROL, "/book 1")
    assert "❌ sold out · 2 readers waiting, 1 paused\n" in dune.text
    emma = await chat.send_one(BOB, "/book 2")
    assert "❌ sold out · nobody waiting, 1 paused\n" in emma.text

    await chat.send_one(BOB, "/resume 2")
    after = await chat.send_one(CAROL, "/book 1")
    assert "❌ sold out · 3 readers waiting\n" in after.text
