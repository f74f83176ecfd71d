"""The Mini App's API (issue 23, item 1) without a browser: Telegram's signed initData
checked as Telegram documents it, the catalog a grid's page at a time, and reserve,
cancel and release through the services the chat calls, confirmed in the chat too."""

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.mini_app.init_data import InitDataCheck, InitDataRefused
from bot.mini_app.routes import STATIC
from bot.services import Services, Shop, build_services
from bot.telegram.reader_messages import TelegramMessages
from bot.web.run import Webhook, status_server, webhook_server
from tests.chat import ADMIN, ALICE, BOB, Chat, Person
from tests.conftest import TOKEN, bot_application, running
from tests.db import add_books, failing_trigger, rows, snapshot
from tests.fake_telegram import FakeBotApi
from tests.mini_app import as_header, json_of, mini_app, signed_as, signed_init_data

OTHER_TOKEN = "987654321:OTHER-token_0123456789abcdefghij"
IVAN = Person(2001, "Иван", "ivan", language_code="ru")
WEBHOOK = Webhook("https://bot.example.com/telegram/hook", "s3cret")


@pytest.fixture
async def client(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running(bot_application(services, api)) as application,
        mini_app(application, engine) as client,
    ):
        yield client


def altered(init_data: str, field: str, value: str) -> str:
    """The same signed initData with one field changed after signing."""
    fields = dict(parse_qsl(init_data))
    fields[field] = value
    return urlencode(fields)


def refused_init_data() -> dict[str, str]:
    """Each way initData can fail to prove who sent it."""
    good = signed_init_data(ALICE)
    without_hash = urlencode({k: v for k, v in parse_qsl(good) if k != "hash"})
    return {
        "forged hash": altered(good, "hash", "0" * 64),
        "altered user": altered(good, "user", json.dumps(BOB.as_user())),
        "altered auth_date": altered(good, "auth_date", str(int(time.time()) + 1)),
        "wrong token": signed_init_data(ALICE, token=OTHER_TOKEN),
        "expired": signed_init_data(ALICE, auth_date=time.time() - 3601 - 60),
        "from the future": signed_init_data(ALICE, auth_date=time.time() + 3600),
        "missing": "",
        "blank": " ",
        "no hash": without_hash,
        "not a query string": "%%%",
        "a field twice": good + "&auth_date=1",
        "user not JSON": signed_init_data(ALICE, user="{not json"),
        "user without id": signed_init_data(ALICE, user='{"first_name":"Alice"}'),
        "user id not a number": signed_init_data(ALICE, user='{"id":"1001"}'),
        "no auth_date": signed_init_data(ALICE, without="auth_date"),
        "no user": signed_init_data(ALICE, without="user"),
        "far too long": signed_init_data(ALICE, padding="x" * 9000),
    }


def test_init_data_signed_as_telegram_documents_is_accepted() -> None:
    check = InitDataCheck.for_token(TOKEN)
    reader = check.reader(signed_init_data(IVAN))
    assert (reader.telegram_id, reader.chat_id, reader.first_name) == (IVAN.id, IVAN.id, "Иван")
    assert reader.language == "ru"
    # A younger age limit refuses what an hour allows.
    old = signed_init_data(ALICE, auth_date=time.time() - 600)
    assert check.reader(old).telegram_id == ALICE.id
    with pytest.raises(InitDataRefused):
        InitDataCheck.for_token(TOKEN, timedelta(minutes=5)).reader(old)


def test_a_field_telegram_signed_empty_is_part_of_what_it_signed() -> None:
    # Telegram's data-check-string is every field received, an empty one too
    # ("start_param="): dropping it refused a genuine initData.
    init_data = signed_init_data(ALICE, start_param="")
    assert "start_param=&" in init_data or init_data.endswith("start_param=")
    assert InitDataCheck.for_token(TOKEN).reader(init_data).telegram_id == ALICE.id
    # And with it kept, the same field given twice is still refused.
    with pytest.raises(InitDataRefused):
        InitDataCheck.for_token(TOKEN).reader(init_data + "&start_param=")


@pytest.mark.parametrize("case", sorted(refused_init_data()))
def test_init_data_that_proves_nothing_is_refused(case: str) -> None:
    with pytest.raises(InitDataRefused) as refused:
        InitDataCheck.for_token(TOKEN).reader(refused_init_data()[case])
    assert TOKEN not in str(refused.value)


async def test_refused_init_data_gets_401_and_changes_nothing(
    client: httpx.AsyncClient, services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    before = await snapshot(engine)
    sent_before = len(api.requests)
    for case, init_data in refused_init_data().items():
        for method, path in [
            ("POST", "/app/api/books/1/reserve"),
            ("GET", "/app/api/books"),
            ("GET", "/app/api/reservations"),
            ("POST", "/app/api/reservations/1/cancel"),
        ]:
            headers = as_header(init_data) if init_data.strip() else {"Authorization": "tma"}
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401, (case, path)
            assert TOKEN not in response.text
    for headers in (
        {},
        {"Authorization": "Bearer x"},
        {"Authorization": "tma"},
        {"Authorization": signed_init_data(ALICE)},
    ):
        assert (await client.get("/app/api/books", headers=headers)).status_code == 401
    assert await snapshot(engine) == before
    assert len(api.requests) == sent_before


async def test_the_catalog_a_grid_page_at_a_time_with_search(
    client: httpx.AsyncClient, services: Services
) -> None:
    await add_books(services, *[(f"Book {n:03}", f"Author {n:03}", n % 3) for n in range(1, 71)])
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Dune Messiah", "Frank Herbert", 2))
    first = json_of(await client.get("/app/api/books", headers=signed_as(ALICE)))
    assert len(first["books"]) == 30
    assert (first["page"], first["pages"], first["total"]) == (1, 3, 72)
    book = first["books"][0]
    assert set(book) >= {"id", "title", "author", "available", "in_stock", "cover"}
    last = json_of(await client.get("/app/api/books?page=3", headers=signed_as(ALICE)))
    assert len(last["books"]) == 12
    found = json_of(await client.get("/app/api/books?q=dun", headers=signed_as(ALICE)))
    assert [each["title"] for each in found["books"]] == ["Dune", "Dune Messiah"]
    assert found["books"][0]["in_stock"] is False
    assert found["books"][1]["available"].startswith("✅")
    cover = await client.get(found["books"][0]["cover"], headers=signed_as(ALICE))
    assert cover.headers["content-type"] == "image/svg+xml"
    assert "Dune" in cover.text
    assert "Frank Herbert" in cover.text


@pytest.mark.parametrize(
    "path",
    [
        "/app/api/books?page=0",
        "/app/api/books?page=-1",
        "/app/api/books?page=abc",
        "/app/api/books?page=99999999",
        "/app/api/books?page=%EF%BC%91",  # a full-width digit
        "/app/api/books?q=" + "x" * 101,
        "/app/api/books/abc",
        "/app/api/books/0",
        "/app/api/books/99999999999999999999",
        "/app/api/reservations?page=x",
    ],
)
async def test_bad_input_gets_400(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=signed_as(ALICE))
    assert response.status_code == 400
    assert json_of(response)["message"]


async def test_reserve_and_cancel_through_the_api_confirmed_in_the_chat(
    client: httpx.AsyncClient, services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 1))
    book = json_of(await client.get("/app/api/books/1", headers=signed_as(ALICE)))
    assert book["action"]["kind"] == "reserve"
    assert (
        json_of(await client.get("/app/api/books/2", headers=signed_as(ALICE)))["action"] is None
    )
    reserved = json_of(await client.post("/app/api/books/1/reserve", headers=signed_as(ALICE)))
    assert "#1" in reserved["message"]
    assert reserved["book"]["action"] == {
        "kind": "cancel",
        "label": "Cancel my reservation",
        "reservation_id": 1,
    }
    assert "first in line" in reserved["book"]["status"]
    # The chat's own confirmation, with its Until buttons.
    [confirmation] = api.sent("sendMessage", ALICE.id)
    assert confirmation.text.startswith("Reserved <b>Dune</b> by Frank Herbert (reservation #1)")
    assert "inline_keyboard" in json.dumps(confirmation.params.get("reply_markup"))
    mine = json_of(await client.get("/app/api/reservations", headers=signed_as(ALICE)))
    [entry] = mine["reservations"]
    assert (entry["id"], entry["status"], entry["action"]["kind"]) == (1, "waiting", "cancel")
    # Bob cannot cancel Alice's reservation.
    assert (
        await client.post("/app/api/reservations/1/cancel", headers=signed_as(BOB))
    ).status_code == 404
    cancelled = json_of(
        await client.post("/app/api/reservations/1/cancel", headers=signed_as(ALICE))
    )
    assert cancelled["message"] == "Cancelled reservation #1 for Dune by Frank Herbert."
    assert (
        api.texts_to(ALICE.id)[-1] == "Cancelled reservation #1 for <b>Dune</b> by Frank Herbert."
    )
    assert await rows(engine, "SELECT status FROM pre_bookings") == [("cancelled",)]


async def test_the_rules_hold_in_the_mini_app(
    client: httpx.AsyncClient, services: Services, engine: AsyncEngine, api: FakeBotApi
) -> None:
    """In stock, withdrawn, unknown, twice: each refused as the chat words it, nothing
    changed; no staff action is there to call."""
    await add_books(
        services, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 2), ("Gone", "Nobody", 0)
    )
    await services.withdrawals.withdraw(ADMIN.id, 3, "out of print")
    await client.post("/app/api/books/1/reserve", headers=signed_as(ALICE))
    before = await snapshot(engine)
    sent = len(api.sent("sendMessage"))
    cases = {
        "/app/api/books/1/reserve": (409, "AlreadyWaiting"),
        "/app/api/books/2/reserve": (409, "BookInStock"),
        "/app/api/books/3/reserve": (409, "BookWithdrawn"),
        "/app/api/books/99/reserve": (404, "BookNotFound"),
        "/app/api/reservations/99/cancel": (404, "ReservationNotFound"),
    }
    for path, (status, kind) in cases.items():
        response = await client.post(path, headers=signed_as(ALICE))
        assert (response.status_code, json_of(response)["error"]) == (status, kind), path
    assert (
        "withdrawn"
        in json_of(await client.post("/app/api/books/3/reserve", headers=signed_as(ALICE)))[
            "message"
        ]
    )
    assert await snapshot(engine) == before
    assert len(api.sent("sendMessage")) == sent
    # Staff get the reader's API and nothing more.
    for path in ("/app/api/books/1/restock", "/app/api/books/1/withdraw", "/app/api/holds"):
        assert (await client.post(path, headers=signed_as(ADMIN))).status_code in (404, 405)


async def test_the_reservation_limit_holds(
    engine: AsyncEngine, services: Services, api: FakeBotApi
) -> None:
    limited = build_services(
        engine, TelegramMessages(), Shop(frozenset({ADMIN.id}), max_active_reservations=1)
    )
    await add_books(limited, ("Dune", "Frank Herbert", 0), ("Emma", "Jane Austen", 0))
    async with (
        running(bot_application(limited, api)) as application,
        mini_app(application, engine) as client,
    ):
        assert (await client.post("/app/api/books/1/reserve", headers=signed_as(ALICE))).is_success
        refused = await client.post("/app/api/books/2/reserve", headers=signed_as(ALICE))
        assert (refused.status_code, json_of(refused)["error"]) == (409, "TooManyReservations")
    assert await rows(engine, "SELECT book_id FROM pre_bookings") == [(1,)]


async def test_a_held_copy_released_in_the_mini_app_goes_to_the_next_reader(
    hold_services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    await add_books(hold_services, ("Dune", "Frank Herbert", 0))
    async with (
        running(bot_application(hold_services, api)) as application,
        mini_app(application, engine) as client,
    ):
        await client.post("/app/api/books/1/reserve", headers=signed_as(ALICE))
        await client.post("/app/api/books/1/reserve", headers=signed_as(BOB))
        await hold_services.restocks.restock(ADMIN.id, 1, 1)
        book = json_of(await client.get("/app/api/books/1", headers=signed_as(ALICE)))
        assert book["action"] == {"kind": "release", "label": "Don't need it", "reservation_id": 1}
        mine = json_of(await client.get("/app/api/reservations", headers=signed_as(ALICE)))
        assert mine["reservations"][0]["status"] == "on_hold"
        released = await client.post("/app/api/reservations/1/release", headers=signed_as(ALICE))
        assert released.is_success, released.text
        assert "Cancelled reservation #1" in api.texts_to(ALICE.id)[-1]
    assert await rows(engine, "SELECT id, status FROM pre_bookings ORDER BY id") == [
        (1, "cancelled"),
        (2, "on_hold"),
    ]


async def test_the_page_speaks_the_readers_language(client: httpx.AsyncClient) -> None:
    words = json_of(await client.get("/app/api/words", headers=signed_as(IVAN)))
    assert words["language"] == "ru"
    assert words["words"]["mine"] == "Мои брони"
    english = json_of(await client.get("/app/api/words", headers=signed_as(ALICE)))
    assert english["words"]["mine"] == "My reservations"


async def test_the_page_is_served_from_the_package_with_nothing_from_elsewhere(
    client: httpx.AsyncClient,
) -> None:
    for path, kind in [
        ("/app", "text/html"),
        ("/app/", "text/html"),
        ("/app/static/app.js", "text/javascript"),
        ("/app/static/app.css", "text/css"),
    ]:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(kind), path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", response.text), path
    for path in ("/app/static/index.html", "/app/static/../routes.py", "/app/static/nothing"):
        assert (await client.get(path)).status_code == 404, path
    # Every file in the folder is served (none forgotten) and none more.
    assert sorted(p.name for p in STATIC.iterdir()) == ["app.css", "app.js", "index.html"]


async def test_the_menu_button_opens_the_mini_app_set_at_start(
    services: Services, api: FakeBotApi
) -> None:
    url = "https://bot.example.com/app"
    async with running(bot_application(services, api, web_app_url=url)):
        [call] = api.sent("setChatMenuButton")
    assert call.error_code is None
    button = call.params["menu_button"]
    button = json.loads(button) if isinstance(button, str) else button
    assert button == {"type": "web_app", "text": "Catalog", "web_app": {"url": url}}
    assert "chat_id" not in call.params  # every chat's


async def test_no_menu_button_without_an_address(services: Services, api: FakeBotApi) -> None:
    async with running(bot_application(services, api)):
        assert api.sent("setMyCommands")
    assert api.sent("setChatMenuButton") == []


async def test_a_refused_menu_button_costs_a_warning(
    services: Services, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.failing_calls["setChatMenuButton"] = [(400, "Bad Request: url host is empty")]
    with caplog.at_level(logging.WARNING):
        async with running(
            bot_application(services, api, web_app_url="https://bot.example.com/app")
        ) as application:
            assert application.running
    assert "Telegram refused the Mini App's menu button" in caplog.text
    assert TOKEN not in caplog.text


async def test_a_refusal_for_now_is_retried_in_the_background(
    services: Services, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.failing_calls["setChatMenuButton"] = [(502, "Bad Gateway")]
    with caplog.at_level(logging.WARNING):
        async with running(
            bot_application(services, api, web_app_url="https://bot.example.com/app")
        ):
            assert "retrying in 1 s" in caplog.text
            for _ in range(200):
                if len(api.sent("setChatMenuButton")) == 2:
                    break
                await asyncio.sleep(0.01)
    [refused, taken] = api.sent("setChatMenuButton")
    assert (refused.error_code, taken.error_code) == (502, None)


async def test_book_cards_open_the_catalog_when_the_address_is_known(
    services: Services, api: FakeBotApi
) -> None:
    url = "https://bot.example.com/app"
    await add_books(services, ("Dune", "Frank Herbert", 0))
    async with running(bot_application(services, api, web_app_url=url)) as application:
        chat = Chat(application, api)
        card = await chat.send_one(ALICE, "/book 1")
    keyboard = card.params["reply_markup"]
    keyboard = json.loads(keyboard) if isinstance(keyboard, str) else keyboard
    assert keyboard["inline_keyboard"][-1] == [{"text": "Open catalog", "web_app": {"url": url}}]
    async with running(bot_application(services, api)) as application:
        plain = await Chat(application, api).send_one(ALICE, "/book 1")
    assert "web_app" not in json.dumps(plain.params["reply_markup"])


def test_the_mini_app_address_defaults_to_the_webhooks_origin() -> None:
    hook = "https://bot.example.com:8443/telegram/hook"
    default = Settings(webhook_url=hook, webhook_secret=SecretStr("s"))
    assert default.mini_app_url == "https://bot.example.com:8443/app"
    own = Settings(
        webhook_url=hook,
        webhook_secret=SecretStr("s"),
        web_app_url="https://shop.example.com/books/app",
    )
    assert own.mini_app_url == "https://shop.example.com/books/app"
    assert Settings().mini_app_url is None
    with pytest.raises(ValidationError):
        Settings(web_app_url="http://shop.example.com/app")
    with pytest.raises(ValidationError):
        Settings(webhook_url="https://bot.example.com/app/hook", webhook_secret=SecretStr("s"))


async def test_kept_alive_connections_answer_without_waiting_for_delayed_acks(
    client: httpx.AsyncClient,
) -> None:
    """Nagle's algorithm off on the bot's web server: with it on, every answer on a
    kept-alive connection but the first waited for the client's delayed ACK (40 ms on
    Linux), so 20 requests took over 0.76 s."""
    await client.get("/app/static/app.css")
    started = time.perf_counter()
    for _ in range(20):
        assert (await client.get("/app/static/app.css")).status_code == 200
    assert time.perf_counter() - started < 0.5


async def test_a_reader_who_blocked_the_bot_still_reserves_in_their_language(
    client: httpx.AsyncClient,
    services: Services,
    api: FakeBotApi,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The chat's confirmation is the extra: a refused one is a warning, the action
    stands, and the answer speaks the reader's language."""
    await add_books(services, ("Dune", "Frank Herbert", 0))
    api.failing_chats[IVAN.id] = 403
    with caplog.at_level(logging.WARNING):
        response = await client.post("/app/api/books/1/reserve", headers=signed_as(IVAN))
    assert response.status_code == 200
    assert json_of(response)["message"].startswith("Забронирована книга Dune")
    assert json_of(response)["book"]["action"]["label"] == "Отменить мою бронь"
    assert "Could not confirm a Mini App action in the chat" in caplog.text
    assert await rows(engine, "SELECT status FROM pre_bookings") == [("waiting",)]


async def test_a_failure_inside_is_a_500_in_words_and_changes_nothing(
    client: httpx.AsyncClient, services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    await add_books(services, ("Dune", "Frank Herbert", 0))
    before = await snapshot(engine)
    async with failing_trigger(engine, "pre_bookings", "BEFORE INSERT", "disk full"):
        response = await client.post("/app/api/books/1/reserve", headers=signed_as(ALICE))
    assert response.status_code == 500
    assert json_of(response)["message"].startswith("Sorry, something went wrong")
    assert await snapshot(engine) == before
    assert api.sent("sendMessage", ALICE.id) == []


async def test_the_mini_app_is_on_the_webhook_and_the_polling_bots_servers(
    services: Services, api: FakeBotApi, engine: AsyncEngine
) -> None:
    """Served where the bot has a web server: webhook mode's, and HTTP_PORT's beside
    polling; the bare status server (no bot given) has none."""
    async with running(bot_application(services, api)) as application:
        servers = {
            "webhook": webhook_server(application, engine, WEBHOOK, "127.0.0.1", 0),
            "polling": status_server(engine, "127.0.0.1", 0, application=application),
            "bare": status_server(engine, "127.0.0.1", 0),
        }
        found = {}
        for name, server in servers.items():
            await server.start()
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                    page = await client.get("/app")
                    books = await client.get("/app/api/books", headers=signed_as(ALICE))
                    found[name] = (page.status_code, books.status_code)
            finally:
                await server.stop()
    assert found == {"webhook": (200, 200), "polling": (200, 200), "bare": (404, 404)}
