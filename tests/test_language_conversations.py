# ruff: noqa: RUF001 (Russian text is Cyrillic on purpose)
"""Readers in their own language: from their Telegram app's, or chosen with /language,
for replies, back-in-stock messages and the command menu, through a block and a restart."""

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import catalogs, languages
from bot.playground.local_bot_api import SentRequest
from bot.services import Services
from bot.telegram.handlers import language
from tests.chat import ADMIN, Chat, Person
from tests.conftest import SHOP_ZONE, bot_application, running
from tests.db import add_books, rows
from tests.fake_telegram import FakeBotApi

IVAN = Person(2001, "Иван", "ivan", language_code="ru")
LUCIA = Person(2002, "Lucía", "lucia", language_code="es-419")
HANS = Person(2003, "Hans", language_code="de")
OLGA = Person(2004, "Olga", language_code="en")


@pytest.mark.parametrize(
    ("language_code", "language"),
    [
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("RU", "ru"),
        ("es", "es"),
        ("es-419", "es"),
        ("es_MX", "es"),
        ("en-GB", "en"),
        ("uk", "en"),
        ("pt-br", "en"),
        ("", "en"),
        (None, "en"),
        ("r", "en"),
        ("rus", "en"),
    ],
)
def test_the_telegram_app_language_picks_ours(language_code: str | None, language: str) -> None:
    assert languages.from_telegram(language_code) == language


async def choose(chat: Chat, person: Person, label: str) -> list[SentRequest]:
    prompt = await chat.send_one(person, "/language")
    return await chat.press(person, label, prompt)


def chat_menus(api: FakeBotApi, person: Person) -> list[list[str]]:
    """The descriptions of each command menu set for the person's chat alone."""
    return [
        [command["description"] for command in request.params["commands"]]
        for request in api.sent("setMyCommands")
        if request.params.get("scope", {}).get("chat_id") == person.id
    ]


async def test_replies_follow_the_telegram_app_language(chat: Chat) -> None:
    russian = await chat.send_one(IVAN, "/start")
    spanish = await chat.send_one(LUCIA, "/help")
    unsupported = await chat.send_one(HANS, "/start")
    assert russian.text.startswith("Здравствуйте, Иван! Я держу для вас место в очереди")
    assert "/books — каталог" in russian.text
    assert spanish.text.startswith("<b>Qué puedo hacer</b>")
    assert unsupported.text.startswith("Hello, Hans!")
    refusal = await chat.send_one(IVAN, "/reserve 12x")
    assert refusal.text.startswith("Как использовать: /reserve &lt;номер книги&gt;")


async def test_language_chosen_with_buttons_and_kept(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    prompt = await chat.send_one(OLGA, "/language")
    assert prompt.text == "Which language shall I speak with you?"
    assert [label for label, _ in chat.current_buttons(prompt)] == [
        "English",
        "Русский",
        "Español",
    ]
    pressed = await chat.press(OLGA, "Русский", prompt)
    [answer] = [request for request in pressed if request.method == "answerCallbackQuery"]
    assert answer.params["text"] == "Язык: русский"
    assert chat.current(prompt)["text"].startswith("Теперь я говорю с вами по-русски")
    assert (await chat.send_one(OLGA, "/myreservations")).text.startswith("У вас пока нет броней")
    assert await rows(engine, "SELECT language, language_chosen FROM users") == [("ru", True)]
    # Her chat's menu in her language, whatever her app's.
    assert chat_menus(chat.api, OLGA)[-1][0].startswith("каталог")
    # A reservation (which refreshes her details from Telegram) keeps her choice.
    await add_books(services, ("Dune", "Frank Herbert", 0))
    reserved = await chat.send_one(OLGA, "/reserve 1")
    assert reserved.text.startswith("Забронирована книга <b>Dune</b>, Frank Herbert")
    assert await rows(engine, "SELECT language, language_chosen FROM users") == [("ru", True)]


async def test_a_forged_language_button_changes_nothing(chat: Chat, engine: AsyncEngine) -> None:
    prompt = await chat.send_one(LUCIA, "/language")
    for forged in ("l:de", "l:", "l:ru:1", "l:RU", "l:es" + "x" * 70):
        pressed = await chat.press_data(LUCIA, forged, prompt)
        [alert] = [request for request in pressed if request.method == "answerCallbackQuery"]
        assert alert.params["text"].startswith("Ese botón está desactualizado")
    assert await rows(engine, "SELECT count(*) FROM users WHERE language_chosen") == [(0,)]


async def test_a_restock_tells_each_reader_in_their_language(
    chat: Chat, services: Services, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    await chat.send_one(IVAN, "/reserve 1")
    await chat.send_one(LUCIA, "/reserve 1")
    await chat.send_one(HANS, "/reserve 1")
    await choose(chat, OLGA, "Español")
    await chat.send_one(OLGA, "/reserve 1")

    staff = await chat.send_one(ADMIN, "/restock 1 3")
    await chat.deliveries_done()

    assert "Notified 4 waiting readers: 4 messages queued." in staff.text
    assert chat.api.texts_to(IVAN.id)[-1] == (
        "📚 Хорошие новости: <b>Dune</b>, Frank Herbert снова в наличии! "
        "Загляните в магазин поскорее — экземпляры быстро расходятся."
    )
    for spanish in (LUCIA, OLGA):
        assert chat.api.texts_to(spanish.id)[-1].startswith(
            "📚 Buenas noticias: ¡<b>Dune</b>, de Frank Herbert vuelve a estar disponible!"
        )
    assert chat.api.texts_to(HANS.id)[-1].startswith("📚 Good news: <b>Dune</b> by Frank Herbert")
    report = await chat.send_one(ADMIN, "/deliveries 1")
    assert "✅ sent: 4" in report.text


async def test_language_and_menu_survive_a_block_an_unblock_and_a_restart(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    async with running(bot_application(services, api)) as application:
        chat = Chat(application, api)
        await choose(chat, OLGA, "Español")
        await chat.send_one(OLGA, "/reserve 1")
        await chat.block(OLGA)
        await chat.send_one(ADMIN, "/restock 1 2")
        await chat.deliveries_done()
        assert not [text for text in api.texts_to(OLGA.id) if "Buenas noticias" in text]
        menus_before = len(chat_menus(api, OLGA))
        await chat.unblock(OLGA)
        await chat.deliveries_done()
        assert api.texts_to(OLGA.id)[-1].startswith("📚 Buenas noticias")
        # Telegram may have dropped her chat's menu with the block: it is set again.
        assert len(chat_menus(api, OLGA)) == menus_before + 1
        assert chat_menus(api, OLGA)[-1][0] == "ver el catálogo (o /books <texto> para buscar)"
    # A new process knows her choice from the database alone.
    async with running(bot_application(services, api)) as application:
        chat = Chat(application, api)
        again = await chat.send_one(OLGA, "/help")
        assert again.text.startswith("<b>Qué puedo hacer</b>")
    assert await rows(
        engine, "SELECT language, language_chosen FROM users WHERE telegram_id = 2004"
    ) == [("es", True)]


async def test_a_choice_made_through_another_process_is_followed(
    services: Services, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        running(bot_application(services, api, name="one")) as one,
        running(bot_application(services, api, name="two")) as two,
    ):
        first, second = Chat(one, api), Chat(two, api)
        assert (await first.send_one(OLGA, "/help")).text.startswith("<b>What I can do</b>")
        await choose(second, OLGA, "Русский")
        # Within the minute the first process trusts what it read; then it reads again.
        assert (await first.send_one(OLGA, "/help")).text.startswith("<b>What I can do</b>")
        monkeypatch.setattr(language, "CHOICE_KEPT_SECONDS", 0.0)
        assert (await first.send_one(OLGA, "/help")).text.startswith("<b>Что я умею</b>")


async def test_a_hold_offer_goes_out_in_the_readers_language_and_the_shops_time(
    hold_chat: Chat, hold_services: Services, engine: AsyncEngine
) -> None:
    """Under RESTOCK_POLICY=hold_in_line the staff member's /restock queues each reader's
    offer in the reader's language, its deadline in the shop's zone as they write dates."""
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    await hold_chat.send_one(IVAN, "/reserve 1")

    reply = await hold_chat.send_one(ADMIN, "/restock 1 1")
    await hold_chat.deliveries_done()

    assert reply.text.startswith("Stock of #1 <b>Dune</b> by Frank Herbert: 0 → 1.")
    [(until,)] = await rows(engine, "SELECT hold_expires_at FROM pre_bookings WHERE id = 1")
    with languages.speaking("ru"):
        shown = catalogs.deadline(until.astimezone(ZoneInfo(SHOP_ZONE)))
    [offer] = [
        request
        for request in hold_chat.api.sent("sendMessage", IVAN.id)
        if request.text.startswith("📦")
    ]
    assert offer.text == (
        f"📦 Экземпляр <b>Dune</b>, Frank Herbert отложен для вас до {shown}. "
        "Назовите на кассе бронь №1."
    )
    assert [label for label, _ in offer.buttons] == ["Уже не нужна (№1)"]


async def test_staff_menus_in_each_language_and_in_the_one_chosen(chat: Chat) -> None:
    """Each staff chat has the staff menu for each app language; a staff member who picks
    a language gets it in their chat for every app language, staff commands included."""
    staff_menus = {
        request.params.get("language_code"): request.params["commands"]
        for request in chat.api.sent("setMyCommands")
        if request.params.get("scope", {}).get("chat_id") == ADMIN.id
    }
    assert set(staff_menus) == {None, "ru", "es"}
    assert [c["command"] for c in staff_menus["ru"]][-1] == "digest"
    assert staff_menus["ru"][0]["description"].startswith("каталог")
    prompt = await chat.send_one(ADMIN, "/language")
    await chat.press(ADMIN, "Español", prompt)
    chosen = [
        request.params
        for request in chat.api.sent("setMyCommands")
        if request.params.get("scope", {}).get("chat_id") == ADMIN.id
    ][3:]
    assert {params.get("language_code") for params in chosen} == {None, "ru", "es"}
    for params in chosen:
        assert params["commands"][0]["description"].startswith("ver el catálogo")
        assert params["commands"][-1]["command"] == "digest"
