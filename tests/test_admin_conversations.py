"""Staff restocking and adding books, and the readers' messages that follow."""

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.playground.files_and_inline import menu_scope
from bot.services import Services
from tests.chat import ADMIN, ALICE, BOB, CAROL, Chat, Person
from tests.conftest import bot_application, running
from tests.db import add_books, rows, snapshot
from tests.fake_telegram import FakeBotApi

BACK_IN_STOCK = "📚 Good news: <b>Dune</b> by Frank Herbert is back in stock!"


async def test_restock_from_zero_messages_exactly_the_waiting_readers(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB, CAROL):
        await chat.send_one(reader, "/reserve 1")
    await chat.send_one(BOB, "/cancel 2")

    replies = await chat.send(ADMIN, "/restock 1 5")
    await chat.deliveries_done()

    admin_reply = next(request for request in replies if request.chat_id == ADMIN.id)
    assert admin_reply.text == (
        "Stock of #1 <b>Dune</b> by Frank Herbert: 0 → 5. Notified 2 waiting readers: "
        "2 messages queued. Follow them with /deliveries 1."
    )
    assert [text for text in chat.api.texts_to(ALICE.id) if "Good news" in text] == [
        BACK_IN_STOCK + " Come by the shop soon, copies go fast."
    ]
    assert len([text for text in chat.api.texts_to(CAROL.id) if "Good news" in text]) == 1
    assert not [text for text in chat.api.texts_to(BOB.id) if "Good news" in text]
    assert await rows(
        engine, "SELECT status::text, notified_at IS NOT NULL FROM pre_bookings ORDER BY id"
    ) == [("notified", True), ("cancelled", False), ("notified", True)]


async def test_restock_that_is_not_zero_to_positive_sends_nothing(
    chat: Chat, services: Services
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 2))
    await chat.send_one(ALICE, "/reserve 1")
    zero_to_zero = await chat.send_one(ADMIN, "/restock 1 0")
    positive_to_positive = await chat.send_one(ADMIN, "/restock 2 7")
    await chat.deliveries_done()
    assert "0 → 0. Nobody to notify" in zero_to_zero.text
    assert "2 → 7. Nobody to notify" in positive_to_positive.text
    assert chat.api.texts_to(ALICE.id)[-1].startswith("Reserved")


async def test_restock_refused_to_readers(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(BOB, "/reserve 1")
    before = await snapshot(engine)
    for text in ("/restock 1 5", "/restock", "/restock nonsense", "/addbook X | Y | 1"):
        reply = await chat.send_one(ALICE, text)
        assert reply.text == "Sorry, only the bookstore's staff can do that."
    assert (await snapshot(engine))["books"] == before["books"]
    assert (await snapshot(engine))["pre_bookings"] == before["pre_bookings"]
    assert chat.api.texts_to(BOB.id)[-1].startswith("Reserved")


async def test_restock_reply_does_not_wait_for_the_broadcast(
    services: Services, api: FakeBotApi
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    readers = [Person(3000 + n, f"Reader {n}") for n in range(6)]
    # Paced at 5 messages a second, the six messages take over a second.
    async with running(bot_application(services, api, messages_per_second=5)) as application:
        chat = Chat(application, api)
        for reader in readers:
            await chat.send_one(reader, "/reserve 1")
        replies = await chat.send(ADMIN, "/restock 1 1")
        assert [r.chat_id for r in replies if r.method == "sendMessage"] == [ADMIN.id]
        await chat.deliveries_done()
    delivered = [reader.id for reader in readers if api.texts_to(reader.id)[-1:] != []]
    assert delivered == [reader.id for reader in readers]
    assert all("Good news" in api.texts_to(reader.id)[-1] for reader in readers)


async def test_blocked_reader_does_not_stop_the_others(
    chat: Chat, services: Services, api: FakeBotApi
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    for reader in (ALICE, BOB, CAROL):
        await chat.send_one(reader, "/reserve 1")
    api.failing_chats[ALICE.id] = 403
    api.flood_once[BOB.id] = 1
    await chat.send(ADMIN, "/restock 1 1")
    await chat.deliveries_done()
    # Bob's first try got a 429; the retry after retry_after delivered it, once.
    bob_attempts = [r.error_code for r in api.sent("sendMessage", BOB.id) if "Good" in r.text]
    assert bob_attempts == [429, None]
    assert [text for text in api.texts_to(BOB.id) if "Good news" in text] == [
        BACK_IN_STOCK + " Come by the shop soon, copies go fast."
    ]
    assert len([text for text in api.texts_to(CAROL.id) if "Good news" in text]) == 1
    assert not [text for text in api.texts_to(ALICE.id) if "Good news" in text]


async def test_add_book(chat: Chat, engine: AsyncEngine) -> None:
    reply = await chat.send_one(ADMIN, "/addbook The <Hobbit> | J. R. R. Tolkien | 0")
    assert reply.text.startswith(
        "Added #1 <b>The &lt;Hobbit&gt;</b> by J. R. R. Tolkien with 0 in stock."
    )
    again = await chat.send_one(ADMIN, "/addbook the <hobbit> | j. r. r. tolkien | 3")
    assert "already in the catalog as #1" in again.text
    assert await rows(engine, "SELECT title, author, stock_quantity FROM books") == [
        ("The <Hobbit>", "J. R. R. Tolkien", 0)
    ]


async def test_command_menu_is_published(services: Services, api: FakeBotApi) -> None:
    async with running(bot_application(services, api)):
        pass
    # One menu for everyone (English), one for each other language's app.
    menus = {
        request.params.get("language_code"): request.params["commands"]
        for request in api.sent("setMyCommands")
        if menu_scope(request.params)["type"] == "default"
    }
    assert set(menus) == {None, "ru", "es"}
    for commands in menus.values():
        names = [command["command"] for command in commands]
        assert names == [
            "books",
            "search",
            "reserve",
            "myreservations",
            "cancel",
            "pause",
            "resume",
            "until",
            "help",
            "book",
            "language",
            "updates",
            "request",
            "unrequest",
        ]
    assert menus[None][0]["description"].startswith("browse the catalog")
    assert menus["ru"][0]["description"].startswith("каталог")
    assert menus["es"][0]["description"].startswith("ver el catálogo")
