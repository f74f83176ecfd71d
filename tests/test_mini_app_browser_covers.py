"""The Mini App's covers and titles in a real browser (Debian's headless Chromium, via
Playwright): a cover it cannot show, markup in a title. The rest of the page is in
test_mini_app_browser.py."""

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.mini_app.covers import CoverSource
from bot.mini_app.routes import MiniAppOptions
from bot.services import Services
from tests.chat import ADMIN, ALICE
from tests.conftest import bot_application, running
from tests.fake_telegram import FakeBotApi
from tests.mini_app import mini_app, signed_init_data
from tests.test_mini_app_covers import DUNE, JPEG, covers_service
from tests.test_playground_browser import WAIT_MS, chromium_path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path())
        yield launched
        await launched.close()


async def test_a_cover_the_browser_cannot_show_leaves_the_title_in_its_place(
    services: Services, api: FakeBotApi, engine: AsyncEngine, tmp_path: Path, browser: Browser
) -> None:
    # JPEG's first bytes and nothing of a picture: the covers service's, taken as an
    # image; the browser cannot draw it. The box was left empty, the title gone.
    await services.books.add_book(ADMIN.id, "Dune", "Frank Herbert", 0, DUNE)
    async with covers_service({DUNE: JPEG}) as (_fake, url):
        options = MiniAppOptions(covers=CoverSource(url, tmp_path / "covers"))
        async with (
            running(bot_application(services, api)) as application,
            mini_app(application, engine, options) as client,
        ):
            page = await browser.new_page()
            page.set_default_timeout(WAIT_MS)
            fragment = "tgWebAppData=" + quote(signed_init_data(ALICE), safe="")
            await page.goto(f"{client.base_url}/app#{fragment}")
            tile = page.locator("#grid .card")
            await expect(tile.locator(".card-title")).to_have_text("Dune")
            # The cover was fetched, tried, and given up.
            await expect(tile.locator(".cover img")).to_have_count(0)
            await expect(tile.locator(".cover")).to_have_text("Dune")
            await page.close()


async def test_markup_in_a_title_is_shown_as_text(
    services: Services, api: FakeBotApi, engine: AsyncEngine, browser: Browser
) -> None:
    title = '<img src=x onerror="document.title=1">'
    await services.books.add_book(ADMIN.id, title, "<b>Someone</b>", 0)
    async with (
        running(bot_application(services, api)) as application,
        mini_app(application, engine) as client,
    ):
        page = await browser.new_page()
        page.set_default_timeout(WAIT_MS)
        fragment = "tgWebAppData=" + quote(signed_init_data(ALICE), safe="")
        await page.goto(f"{client.base_url}/app#{fragment}")
        tile = page.locator("#grid .card")
        await expect(tile.locator(".card-title")).to_have_text(title)
        await expect(tile.locator(".card-author")).to_have_text("<b>Someone</b>")
        # The drawn cover arrived, as an image of the text.
        await expect(tile.locator(".cover img")).to_have_count(1)
        assert await page.locator("img[src=x], b").count() == 0
        assert await page.title() != "1"
        await page.close()
