"""Readers talking to the bot: real Updates through the real Application."""

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from tests.chat import ADMIN, ALICE, BOB, Chat
from tests.db import add_books, rows


async def test_start_registers_once_and_explains(chat: Chat, engine: AsyncEngine) -> None:
    first = await chat.send_one(ALICE, "/start")
    await chat.send_one(ALICE, "/start")
    assert "Hello, Alice!" in first.text
    assert "back on the shelf" in first.text
    assert "/reserve" in first.text
    assert "/restock" not in first.text
    assert first.chat_id == ALICE.id
    assert await rows(engine, "SELECT telegram_id, chat_id, username FROM users") == [
        (ALICE.id, ALICE.id, "alice")
    ]


async def test_help_shows_staff_commands_to_staff_only(chat: Chat) -> None:
    reader_help = await chat.send_one(ALICE, "/help")
    staff_help = await chat.send_one(ADMIN, "/help")
    for command in ("/books", "/search", "/reserve", "/myreservations", "/cancel"):
        assert command in reader_help.text
        assert command in staff_help.text
    assert "/restock" not in reader_help.text
    assert "/restock" in staff_help.text
    assert "/addbook" in staff_help.text


async def test_catalog_pages_with_prev_and_next(chat: Chat, services: Services) -> None:
    await add_books(services, *[(f"Book {n}", f"Author {n}", n % 3) for n in range(1, 8)])

    first = await chat.send_one(ALICE, "/books")
    assert "page 1 of 2" in first.text
    assert first.text.count("#") == 5
    labels = [label for label, _ in chat.current_buttons(first)]
    # Books 3 and 6 are sold out (n % 3 == 0); only those on page 1 get Reserve.
    assert labels == ["Reserve #3 Book 3", "Next ›"]

    pressed = await chat.press(ALICE, "Next", first)
    assert [request.method for request in pressed] == ["answerCallbackQuery", "editMessageText"]
    page_two = chat.current(first)
    assert "page 2 of 2" in page_two["text"]
    assert [label for label, _ in chat.current_buttons(first)] == [
        "Reserve #6 Book 6",
        "‹ Prev",
    ]

    await chat.press(ALICE, "‹ Prev", first)
    assert "page 1 of 2" in chat.current(first)["text"]


async def test_catalog_shows_author_and_availability(chat: Chat, services: Services) -> None:
    await add_books(services, ("Emma", "Jane Austen", 2), ("Dune", "Frank Herbert", 0))
    reply = await chat.send_one(ALICE, "/books")
    assert "<b>Emma</b> by Jane Austen" in reply.text
    assert "in stock: 2" in reply.text
    assert "<b>Dune</b> by Frank Herbert\n    ❌ sold out" in reply.text
    assert [label for label, _ in chat.current_buttons(reply)] == ["Reserve #2 Dune"]


async def test_search_by_title_or_author_ignoring_case(chat: Chat, services: Services) -> None:
    await add_books(
        services,
        ("War and Peace", "Leo Tolstoy", 0),
        ("Anna Karenina", "Leo Tolstoy", 1),
        ("Emma", "Jane Austen", 0),
    )
    by_author = await chat.send_one(ALICE, "/books TOLSTOY")
    assert "War and Peace" in by_author.text
    assert "Anna Karenina" in by_author.text
    assert "Emma" not in by_author.text
    by_title = await chat.send_one(ALICE, "/search emm")
    assert "Emma" in by_title.text
    assert "Tolstoy" not in by_title.text
    nothing = await chat.send_one(ALICE, "/search Proust")
    assert "No books match “Proust”" in nothing.text


async def test_search_results_page_with_the_query(chat: Chat, services: Services) -> None:
    await add_books(services, *[(f"Poems {n}", "Various", 0) for n in range(7)])
    await add_books(services, ("Novel", "Someone", 0))
    reply = await chat.send_one(ALICE, "/search poems")
    await chat.press(ALICE, "Next", reply)
    page_two = chat.current(reply)["text"]
    assert "Books matching “poems”" in page_two
    assert "page 2 of 2" in page_two
    assert "Novel" not in page_two


async def test_reader_reserves_lists_and_cancels(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    """The whole path: /books → Reserve → /myreservations → Cancel."""
    await add_books(services, ("Dune", "Frank Herbert", 0))

    catalog = await chat.send_one(ALICE, "/books")
    pressed = await chat.press(ALICE, "Reserve #1", catalog)
    assert [request.method for request in pressed] == ["answerCallbackQuery", "sendMessage"]
    assert pressed[0].params["text"] == "Reserved: number 1 in line"
    assert "Reserved <b>Dune</b> by Frank Herbert" in pressed[1].text
    assert "you are first in line" in pressed[1].text

    listing = await chat.send_one(ALICE, "/myreservations")
    assert "<b>Dune</b> by Frank Herbert" in listing.text
    assert "⏳ waiting since" in listing.text
    assert [label for label, _ in chat.current_buttons(listing)] == [
        "Cancel #1 Dune",
        "⏸ Pause #1",
    ]

    pressed = await chat.press(ALICE, "Cancel #1", listing)
    assert [request.method for request in pressed] == ["answerCallbackQuery", "editMessageText"]
    assert pressed[0].params["text"] == "Reservation cancelled"
    edited = chat.current(listing)
    assert "✖️ cancelled on" in edited["text"]
    assert "reply_markup" not in edited
    assert await rows(
        engine, "SELECT status::text, cancelled_at IS NOT NULL FROM pre_bookings"
    ) == [("cancelled", True)]


async def test_reserve_command_names_book_and_place(chat: Chat, services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    reply = await chat.send_one(BOB, "/reserve #1")
    assert "Reserved <b>Dune</b> by Frank Herbert (reservation #2)" in reply.text
    assert "you are number 2 in line" in reply.text


async def test_reserve_refusals(chat: Chat, services: Services, engine: AsyncEngine) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 3))
    await chat.send_one(ALICE, "/reserve 1")
    unknown = await chat.send_one(ALICE, "/reserve 77")
    assert unknown.text == "There is no book #77. Send /books to see the catalog."
    in_stock = await chat.send_one(ALICE, "/reserve 2")
    assert "<b>Emma</b> by Jane Austen is in stock (3): you can buy it now" in in_stock.text
    again = await chat.send_one(ALICE, "/reserve 1")
    assert "You are already waiting for <b>Dune</b>" in again.text
    assert await rows(engine, "SELECT count(*) FROM pre_bookings") == [(1,)]


async def test_my_reservations_empty_then_newest_first(chat: Chat, services: Services) -> None:
    empty = await chat.send_one(ALICE, "/myreservations")
    assert "You have no reservations yet" in empty.text
    assert "reply_markup" not in empty.params

    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send_one(ALICE, "/reserve 2")
    await chat.send_one(ALICE, "/cancel 1")
    listing = await chat.send_one(ALICE, "/myreservations")
    assert listing.text.index("Emma") < listing.text.index("Dune")
    assert "#1 <b>Dune</b> by Frank Herbert\n    ✖️ cancelled on" in listing.text
    assert "#2 <b>Emma</b> by Jane Austen\n    ⏳ waiting since" in listing.text
    assert [label for label, _ in chat.current_buttons(listing)] == [
        "Cancel #2 Emma",
        "⏸ Pause #2",
    ]


async def test_my_reservations_pages(chat: Chat, services: Services) -> None:
    await add_books(services, *[(f"Book {n}", "Someone", 0) for n in range(1, 8)])
    for book_id in range(1, 8):
        await chat.send(ALICE, f"/reserve {book_id}")
    listing = await chat.send_one(ALICE, "/myreservations")
    assert "page 1 of 2" in listing.text
    await chat.press(ALICE, "Next", listing)
    page_two = chat.current(listing)
    assert "page 2 of 2" in page_two["text"]
    # Cancelling from page two keeps the reader on page two.
    await chat.press(ALICE, "Cancel #1", listing)
    after = chat.current(listing)["text"]
    assert "page 2 of 2" in after
    assert "#1 <b>Book 1</b> by Someone\n    ✖️ cancelled on" in after


async def test_cancel_command_and_its_refusals(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    bobs_try = await chat.send_one(BOB, "/cancel 1")
    nonexistent = await chat.send_one(BOB, "/cancel 999")
    assert bobs_try.text == nonexistent.text.replace("999", "1")
    assert await rows(engine, "SELECT status::text FROM pre_bookings") == [("waiting",)]

    done = await chat.send_one(ALICE, "/cancel 1")
    assert done.text == "Cancelled reservation #1 for <b>Dune</b> by Frank Herbert."
    twice = await chat.send_one(ALICE, "/cancel 1")
    assert twice.text == "Reservation #1 can't be cancelled: it is already cancelled."


async def test_notified_reservation_cannot_be_cancelled(chat: Chat, services: Services) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(ALICE, "/reserve 1")
    await chat.send(ADMIN, "/restock 1 2")
    await chat.deliveries_done()
    reply = await chat.send_one(ALICE, "/cancel 1")
    assert "already fulfilled" in reply.text


async def test_titles_with_markup_characters_are_escaped(chat: Chat, services: Services) -> None:
    """The fake Bot API refuses broken HTML, as Telegram does."""
    await add_books(services, ("<b>Bold</b> & *Stars*", "A <Writer> & Co", 0))
    catalog = await chat.send_one(ALICE, "/books")
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; *Stars*" in catalog.text
    pressed = await chat.press(ALICE, "Reserve #1", catalog)
    assert "A &lt;Writer&gt; &amp; Co" in pressed[1].text
    listing = await chat.send_one(ALICE, "/myreservations")
    assert "&lt;b&gt;Bold&lt;/b&gt;" in listing.text
    await chat.send(ADMIN, "/restock 1 1")
    await chat.deliveries_done()
    [notification] = chat.api.texts_to(ALICE.id)[-1:]
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; *Stars*" in notification


async def test_readers_see_only_their_own_reservations(chat: Chat, services: Services) -> None:
    await add_books(services, *[(f"Book {n}", "Someone", 0) for n in range(1, 8)])
    for book_id in range(1, 7):
        await chat.send_one(ALICE, f"/reserve {book_id}")
    await chat.send_one(BOB, "/reserve 7")
    bobs = await chat.send_one(BOB, "/myreservations")
    assert "#7 <b>Book 7</b>" in bobs.text
    assert "Book 1" not in bobs.text
    assert [label for label, _ in chat.current_buttons(bobs)] == ["Cancel #7 Book 7", "⏸ Pause #7"]
    # Alice's page-2 button pressed by Bob shows Bob's list (one page), never Alice's.
    alices = await chat.send_one(ALICE, "/myreservations")
    next_page = next(data for label, data in chat.current_buttons(alices) if label == "Next ›")
    await chat.press_data(BOB, next_page, chat.current(bobs))
    assert "Book 1" not in chat.current(bobs)["text"]
    assert "#7 <b>Book 7</b>" in chat.current(bobs)["text"]
