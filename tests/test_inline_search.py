"""Inline search: `@bot dune` in any chat, answered with pages of cards, whatever is typed."""

import asyncio
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.database import create_engine
from bot.playground.local_bot_api import SentRequest
from bot.postgres import migrate
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.users.schemas import Reader
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat, inline_query_update
from tests.conftest import temporary_database
from tests.db import add_books, snapshot
from tests.fake_bot_api_server import running_fake_bot_api
from tests.test_command_line import plain_url
from tests.test_polling_end_to_end import start_bot, stop_bot

LINK = "https://t.me/bookstore_test_bot?start=book_"


async def ask(chat: Chat, query: str, offset: str = "") -> SentRequest:
    sent = await chat.feed(inline_query_update(chat.next_update_id(), ALICE, query, offset))
    [answer] = [request for request in sent if request.method == "answerInlineQuery"]
    assert answer.error_code is None, answer
    return answer


def results(answer: SentRequest) -> list[dict[str, Any]]:
    found = answer.params["results"]
    return list(json.loads(found) if isinstance(found, str) else found)


async def test_a_search_lists_cards_with_a_link_into_the_bot(
    chat: Chat, services: Services
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 2))
    await services.reservations.reserve(Reader(BOB.id, BOB.id), 1)
    answer = await ask(chat, "dune")
    [dune] = results(answer)
    assert dune["id"] == "1"
    assert dune["title"] == "Dune"
    assert dune["description"] == "Frank Herbert · ❌ sold out · 1 reader waiting"
    assert "<b>Dune</b> by Frank Herbert" in dune["input_message_content"]["message_text"]
    [[button]] = dune["reply_markup"]["inline_keyboard"]
    assert button == {"text": "Reserve in the bot", "url": f"{LINK}1"}
    assert 0 < answer.params["cache_time"] <= 60
    assert not answer.params.get("next_offset")


async def test_results_come_fifty_a_page(chat: Chat, services: Services) -> None:
    await add_books(services, *[(f"Saga {n:03}", "Anon", 0) for n in range(120)])
    pages = []
    offset = ""
    while True:
        answer = await ask(chat, "saga", offset)
        pages.append([result["title"] for result in results(answer)])
        offset = str(answer.params.get("next_offset") or "")
        if not offset:
            break
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [title for page in pages for title in page] == [f"Saga {n:03}" for n in range(120)]


async def test_an_empty_query_shows_the_longest_lines(chat: Chat, services: Services) -> None:
    await add_books(services, *[(f"Book {n}", "Anon", 0) for n in range(1, 9)])
    for person, books in ((ALICE, [3, 5, 8]), (BOB, [5, 8]), (CAROL, [8, 2, 4, 6, 7])):
        for book in books:
            await services.reservations.reserve(Reader(person.id, person.id), book)
    answer = await ask(chat, "")
    assert [result["id"] for result in results(answer)] == ["8", "5", "2", "3", "4"]
    assert "3 readers waiting" in results(answer)[0]["description"]


async def test_nothing_found_is_an_empty_answer(chat: Chat, services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    assert results(await ask(chat, "zzz")) == []
    assert results(await ask(chat, "dune", "2")) == []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    query=st.one_of(st.text(max_size=300), st.sampled_from(["<b>", "&", "'; drop", "%", "\\"])),
    offset=st.one_of(
        st.text(max_size=80), st.sampled_from(["", "0", "-1", "2", "9999", "10000", "\uff11"])
    ),
)
async def test_any_query_and_offset_get_a_valid_answer(
    chat: Chat, services: Services, engine: AsyncEngine, query: str, offset: str
) -> None:
    if not (await snapshot(engine))["books"]:
        await add_books(services, ("Dune <&>", "Frank Herbert", 0), ("Emma", "Jane Austen", 1))
    before = await snapshot(engine)
    answer = await ask(chat, query, offset)
    assert len(results(answer)) <= 50
    assert await snapshot(engine) == before


async def test_the_installed_bot_asks_telegram_for_inline_queries(
    server_url: str, tmp_path: Path
) -> None:
    """Telegram sends only the update types a bot asks for (allowed_updates)."""
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection)
        services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id})))
        await add_books(services, ("Dune", "Frank Herbert", 0))
        await engine.dispose()
        with running_fake_bot_api() as telegram:
            bot = start_bot(tmp_path, telegram, DATABASE_URL=plain_url(url))
            try:
                await asyncio.to_thread(telegram.wait_for_polling)
                telegram.inline_query(ALICE, "dune")
                answered = await asyncio.to_thread(
                    telegram.wait_for,
                    lambda sent: any(r.method == "answerInlineQuery" for r in sent),
                    30,
                )
            finally:
                await stop_bot(bot)
    [answer] = [r for r in answered if r.method == "answerInlineQuery"]
    assert answer.error_code is None
    assert [result["title"] for result in results(answer)] == ["Dune"]


async def test_under_holds_a_book_whose_copies_are_all_held_says_so(
    hold_chat: Chat, hold_services: Services
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0), ("Dune Messiah", "Herbert", 3))
    await hold_services.reservations.reserve(Reader(BOB.id, BOB.id), 1)
    await hold_services.reservations.reserve(Reader(CAROL.id, CAROL.id), 1)
    await hold_chat.send(ADMIN, "/restock 1 1")  # Bob's copy; Carol waits

    dune, messiah = results(await ask(hold_chat, "dune"))
    assert dune["description"] == "Frank Herbert · 📦 all copies on hold · 1 reader waiting"
    assert "📦 all copies on hold" in dune["input_message_content"]["message_text"]
    assert messiah["description"] == "Herbert · ✅ in stock: 3 · nobody waiting"
    [longest] = results(await ask(hold_chat, ""))
    assert longest["description"] == dune["description"]
