"""Long lists of books: matches are counted only as far as the reader has come (a
hundred pages at a time), the header says so ("page 1 of 100+"), and Next leads on."""

from bot.books.service import COUNTED_PAGES, CatalogRow
from bot.playground.local_bot_api import SentRequest
from bot.services import Services
from tests.chat import ALICE, Chat

WINDOW = COUNTED_PAGES * 5  # books counted ahead at a time: 100 pages of 5


async def import_books(services: Services, titles: list[str]) -> None:
    rows = [CatalogRow(n, (title, "Various", "1")) for n, title in enumerate(titles)]
    assert (await services.books.import_books(rows)).imported == len(rows)


def poems(count: int) -> list[str]:
    return [f"Poems {n:04}" for n in range(count)]


def labels(chat: Chat, sent: SentRequest) -> list[str]:
    return [label for label, _ in chat.current_buttons(sent)]


async def test_a_long_search_counts_a_window_ahead_and_next_leads_on(
    chat: Chat, services: Services
) -> None:
    await import_books(services, [*poems(2 * WINDOW + 100), "Novel"])
    reply = await chat.send_one(ALICE, "/search poems")
    assert "(page 1 of 100+)" in reply.text
    assert "Poems 0000" in reply.text
    assert labels(chat, reply) == ["Next ›"]

    await chat.press_data(ALICE, "b:100:poems", reply)
    assert "(page 100 of 100+)" in chat.current(reply)["text"]
    await chat.press(ALICE, "Next", reply)
    page = chat.current(reply)["text"]
    assert "(page 101 of 200+)" in page
    assert "Poems 0500" in page
    assert labels(chat, reply) == ["‹ Prev", "Next ›"]

    # The third window holds the end: counted exactly, and a page past it clamps.
    await chat.press_data(ALICE, "b:201:poems", reply)
    assert "(page 201 of 220)" in chat.current(reply)["text"]
    await chat.press_data(ALICE, "b:999:poems", reply)
    last = chat.current(reply)["text"]
    assert "(page 220 of 220)" in last
    assert "Poems 1099" in last
    assert "Novel" not in last
    assert labels(chat, reply) == ["‹ Prev"]


async def test_the_count_is_exact_up_to_the_window(chat: Chat, services: Services) -> None:
    await import_books(services, poems(WINDOW))
    full = await chat.send_one(ALICE, "/books")
    assert "(page 1 of 100)" in full.text
    await chat.press_data(ALICE, "b:100", full)
    assert "(page 100 of 100)" in chat.current(full)["text"]
    assert labels(chat, full) == ["‹ Prev"]

    await import_books(services, ["Zebra"])
    one_more = await chat.send_one(ALICE, "/books")
    assert "(page 1 of 100+)" in one_more.text
    await chat.press_data(ALICE, "b:100", one_more)
    assert "(page 100 of 100+)" in chat.current(one_more)["text"]
    await chat.press(ALICE, "Next", one_more)
    last = chat.current(one_more)["text"]
    assert "(page 101 of 101)" in last
    assert "Zebra" in last
    assert labels(chat, one_more) == ["‹ Prev"]


async def test_a_long_query_past_the_window_says_more_than(chat: Chat, services: Services) -> None:
    await import_books(services, poems(WINDOW + 1))
    reply = await chat.send_one(ALICE, "/search " + "poems " * 12)
    assert "(page 1 of 100+)" in reply.text
    assert f"Showing the first 5 of more than {WINDOW}: narrow your search" in reply.text
