"""The Mini App's page in a real browser (issue 23, item 1): Debian's headless Chromium,
driven by Playwright, opened as Telegram opens it, with the launch parameters in the
URL fragment and initData signed here from the test bot's token."""

import json
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import Services
from tests.chat import ALICE, Person
from tests.conftest import bot_application, running
from tests.db import add_books, rows
from tests.fake_telegram import FakeBotApi
from tests.mini_app import mini_app, signed_init_data
from tests.test_playground_browser import WAIT_MS, chromium_path

THEME = {"bg_color": "#102030", "text_color": "#f0e0d0", "button_color": "#aa3300"}
BOOKS = (
    ("Dune", "Frank Herbert", 0),
    ("Dune Messiah", "Frank Herbert", 2),
    ("Emma", "Jane Austen", 1),
    ("War and Peace", "Leo Tolstoy", 0),
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def base_url(services: Services, api: FakeBotApi, engine: AsyncEngine) -> AsyncIterator[str]:
    """The bot's web server with the Mini App, the sample books in its catalog."""
    await add_books(services, *BOOKS)
    async with (
        running(bot_application(services, api)) as application,
        mini_app(application, engine) as client,
    ):
        yield str(client.base_url)


def launch_url(base_url: str, init_data: str, theme: dict[str, str] = THEME) -> str:
    """/app as Telegram opens it: its launch parameters in the fragment."""
    fragment = "&".join(
        [
            f"tgWebAppData={quote(init_data, safe='')}",
            f"tgWebAppThemeParams={quote(json.dumps(theme), safe='')}",
            "tgWebAppVersion=7.0",
        ]
    )
    return f"{base_url}/app#{fragment}"


async def open_app(
    browser: Browser, base_url: str, person: Person = ALICE, width: int = 1000
) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": 760})
    page.set_default_timeout(WAIT_MS)
    await page.goto(launch_url(base_url, signed_init_data(person)))
    await expect(page.locator("#grid .card")).to_have_count(len(BOOKS))
    return page


def card(page: Page, title: str) -> str:
    return f'#grid .card:has(.card-title:text-is("{title}"))'


async def test_the_grid_shows_covers_title_author_and_availability(
    browser: Browser, base_url: str
) -> None:
    page = await open_app(browser, base_url)
    dune = page.locator(card(page, "Dune"))
    await expect(dune.locator(".card-author")).to_have_text("Frank Herbert")
    await expect(dune.locator(".card-available")).not_to_be_empty()
    await expect(page.locator(card(page, "Emma")).locator(".card-available")).not_to_have_text(
        await dune.locator(".card-available").inner_text()
    )
    # Every card's cover loaded as a picture (generated: COVERS_URL is off), none broken.
    covers = page.locator("#grid .card .cover img")
    await expect(covers).to_have_count(len(BOOKS))
    for index in range(len(BOOKS)):
        width = await covers.nth(index).evaluate(
            "image => (image.complete ? image.naturalWidth : 0)"
        )
        assert width > 0
    # Drawn, they came with the books: the page asked for none of them.
    asked = "() => performance.getEntriesByType('resource').map((entry) => entry.name)"
    assert [url for url in await page.evaluate(asked) if url.endswith("/cover")] == []
    await expect(page.locator("#status")).to_be_empty()


async def test_search_as_you_type_narrows_the_grid(browser: Browser, base_url: str) -> None:
    page = await open_app(browser, base_url)
    await page.locator("#search").press_sequentially("dun", delay=30)
    titles = page.locator("#grid .card-title")
    await expect(titles).to_have_text(["Dune", "Dune Messiah"])
    await page.locator("#search").press_sequentially("e m", delay=30)
    await expect(titles).to_have_text(["Dune Messiah"])
    await page.locator("#search").fill("tolstoy")
    await expect(titles).to_have_text(["War and Peace"])
    await page.locator("#search").fill("")
    await expect(titles).to_have_count(len(BOOKS))


async def test_reserve_and_cancel_from_a_books_page(
    browser: Browser, base_url: str, api: FakeBotApi, engine: AsyncEngine
) -> None:
    page = await open_app(browser, base_url)
    await page.locator(card(page, "Dune")).click()
    await expect(page.locator("#book-title")).to_have_text("Dune")
    await expect(page.locator("#catalog")).to_be_hidden()
    action = page.locator("#book-action")
    await expect(action).to_have_text("Reserve: tell me when it's back")
    await action.click()
    await expect(page.locator("#status")).to_contain_text("#1")
    await expect(action).to_have_text("Cancel my reservation")
    await expect(page.locator("#book-status")).to_contain_text("first in line")
    assert await rows(
        engine,
        "SELECT u.telegram_id, b.title, p.status::text FROM pre_bookings p "
        "JOIN users u ON u.id = p.user_id JOIN books b ON b.id = p.book_id",
    ) == [(ALICE.id, "Dune", "waiting")]
    assert api.texts_to(ALICE.id)[-1].startswith("Reserved <b>Dune</b> by Frank Herbert")

    await action.click()
    await expect(page.locator("#status")).to_have_text(
        "Cancelled reservation #1 for Dune by Frank Herbert."
    )
    await expect(action).to_have_text("Reserve: tell me when it's back")
    assert await rows(engine, "SELECT status FROM pre_bookings") == [("cancelled",)]
    assert api.texts_to(ALICE.id)[-1] == (
        "Cancelled reservation #1 for <b>Dune</b> by Frank Herbert."
    )


async def test_cancel_from_my_reservations(
    browser: Browser, base_url: str, api: FakeBotApi, engine: AsyncEngine
) -> None:
    page = await open_app(browser, base_url)
    await page.locator(card(page, "War and Peace")).click()
    await page.locator("#book-action").click()
    await expect(page.locator("#book-action")).to_have_text("Cancel my reservation")
    await page.locator("#tab-mine").click()
    entry = page.locator("#reservations li", has_text="War and Peace")
    await expect(entry).to_be_visible()
    await entry.get_by_role("button", name="Cancel my reservation").click()
    await expect(page.locator("#status")).to_contain_text("Cancelled reservation #1")
    await expect(entry.get_by_role("button")).to_have_count(0)
    assert await rows(engine, "SELECT status FROM pre_bookings") == [("cancelled",)]
    assert api.texts_to(ALICE.id)[-1].startswith("Cancelled reservation #1")


async def test_telegrams_theme_colours_are_applied(browser: Browser, base_url: str) -> None:
    page = await open_app(browser, base_url)
    style = await page.evaluate(
        """() => {
        const body = getComputedStyle(document.body);
        const tab = getComputedStyle(document.getElementById("tab-catalog"));
        return [body.backgroundColor, body.color, tab.backgroundColor];
        }"""
    )
    assert style == ["rgb(16, 32, 48)", "rgb(240, 224, 208)", "rgb(170, 51, 0)"]


async def test_phone_width_has_no_horizontal_scroll(browser: Browser, base_url: str) -> None:
    page = await open_app(browser, base_url, width=390)
    widths = "[document.documentElement.scrollWidth, document.body.scrollWidth]"
    assert max(await page.evaluate(widths)) <= 390
    await page.locator(card(page, "War and Peace")).click()
    await expect(page.locator("#book-action")).to_be_visible()
    assert max(await page.evaluate(widths)) <= 390
    await page.locator("#tab-mine").click()
    assert max(await page.evaluate(widths)) <= 390


async def test_by_keyboard_tab_enter_and_escape(
    browser: Browser, base_url: str, engine: AsyncEngine
) -> None:
    page = await open_app(browser, base_url)
    await page.locator("#search").focus()
    await page.keyboard.press("Tab")
    first = page.locator("#grid .card").first
    await expect(first).to_be_focused()
    await expect(first.locator(".card-title")).to_have_text("Dune")
    await page.keyboard.press("Enter")
    await expect(page.locator("#book-title")).to_have_text("Dune")
    await expect(page.locator("#back")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.locator("#book-action")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#book-action")).to_have_text("Cancel my reservation")
    assert await rows(engine, "SELECT status FROM pre_bookings") == [("waiting",)]
    await page.keyboard.press("Escape")
    await expect(page.locator("#catalog")).to_be_visible()
    await expect(page.locator("#book")).to_be_hidden()
    # Back where the reader left: on the book they opened.
    await expect(first).to_be_focused()


@pytest.mark.parametrize("case", ["forged hash", "another bot's token", "none"])
async def test_forged_init_data_shows_an_error_not_data(
    browser: Browser, base_url: str, engine: AsyncEngine, case: str
) -> None:
    good = signed_init_data(ALICE)
    init_data = {
        "forged hash": good[: good.rindex("hash=") + 5] + "0" * 64,
        "another bot's token": signed_init_data(ALICE, token="987654321:OTHER-token_0123456789"),
        "none": "",
    }[case]
    page = await browser.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(launch_url(base_url, init_data))
    await expect(page.locator("#status")).to_have_text(
        "Please open the catalog again from the bot's menu."
    )
    await expect(page.locator("#grid .card")).to_have_count(0)
    assert "Dune" not in await page.content()
    await page.locator("#tab-mine").click()
    await expect(page.locator("#reservations li")).to_have_count(0)
    assert await rows(engine, "SELECT count(*) FROM pre_bookings") == [(0,)]
