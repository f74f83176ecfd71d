"""The playground's page in a real browser: Debian's headless Chromium, driven by Playwright.

Each step's screenshot is saved in test-output/playground/ (docs/playground.png is one).
"""

import base64
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web
from playwright.async_api import (
    Browser,
    FrameLocator,
    Locator,
    Page,
    Route,
    async_playwright,
    expect,
)

from bot.mini_app.init_data import InitDataCheck
from bot.playground.files_and_inline import UploadedFile
from bot.playground.runner import PLAYGROUND_TOKEN, Playground
from tests.playground import playground_on

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output" / "playground"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
# Playwright's own waits; a paced bot on a busy machine answers within seconds.
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)


def chromium_path() -> str:
    """Debian's chromium; its absence fails the test, saying what to install."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium is missing: the browser tests need Debian's chromium package "
        "(apt-get install -y chromium; python3 dev.py test installs it when run as root)"
    )


@pytest.fixture
async def playground(server_url: str) -> AsyncIterator[Playground]:
    async with playground_on(server_url) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        await launched.close()


async def open_page(browser: Browser, url: str, width: int = 1200) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": 760})
    page.set_default_timeout(WAIT_MS)
    await page.goto(url)
    await expect(page.locator("body[data-live=true]")).to_be_attached()
    await expect(page.locator("#menu-button")).to_be_visible()  # setMyCommands arrived
    return page


async def say(page: Page, text: str) -> None:
    await page.locator("#text").fill(text)
    await page.locator("#text").press("Enter")


def bot_message(page: Page, persona: int, containing: str) -> Locator:
    return page.locator(f"#chat-{persona} .message:not(.mine)", has_text=containing)


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png")


ALICE, BEN, DANA = 1001, 1002, 9001


async def test_reserve_restock_back_in_stock_and_cancel_in_the_browser(
    browser: Browser, playground: Playground
) -> None:
    page = await open_page(browser, playground.url)
    await page.evaluate("window.sameLoad = true")  # gone if the page ever reloads

    # A reader opens the catalog and reserves a sold-out book.
    await say(page, "/books")
    catalog = bot_message(page, ALICE, "Catalog")
    await expect(catalog).to_be_visible()
    await expect(catalog.locator("b", has_text="Dune")).to_be_visible()  # HTML rendered
    await shot(page, "1-catalog")
    await catalog.get_by_role("button", name="Reserve #1 Dune").click()
    await expect(bot_message(page, ALICE, "Reserved Dune by Frank Herbert")).to_be_visible()
    await shot(page, "2-reserved")

    # The staff member restocks it.
    await page.locator(f'nav button[data-persona="{DANA}"]').click()
    await say(page, "/restock 1 3")
    await expect(bot_message(page, DANA, "Notified 1 waiting reader")).to_be_visible()
    await shot(page, "3-restocked")

    # The reader's chat shows the message without a reload; the outbox shows it sent.
    badge = page.locator(f'nav button[data-persona="{ALICE}"] .badge')
    await expect(badge).to_have_text("1")
    await page.locator(f'nav button[data-persona="{ALICE}"]').click()
    await expect(bot_message(page, ALICE, "Good news: Dune")).to_be_visible()
    await expect(page.locator("#outbox-counts")).to_contain_text("sent 1")
    assert await page.evaluate("window.sameLoad") is True
    await shot(page, "4-back-in-stock")

    # A Cancel button edits its own message in place.
    await say(page, "/reserve 4")
    await expect(bot_message(page, ALICE, "Reserved War and Peace")).to_be_visible()
    await say(page, "/myreservations")
    reservations = bot_message(page, ALICE, "Your reservations")
    await expect(reservations.get_by_role("button", name="Cancel")).to_be_visible()
    message_id = await reservations.get_attribute("data-id")
    count = await page.locator(f"#chat-{ALICE} .message").count()
    await reservations.get_by_role("button", name="Cancel").click()
    # (the Reserve button's toast may still be showing: toasts last 6 s)
    toast = page.locator(f"#chat-{ALICE} .toast", has_text="Reservation cancelled")
    await expect(toast).to_be_visible()
    edited = page.locator(f'#chat-{ALICE} .message[data-id="{message_id}"]')
    await expect(edited).to_contain_text("cancelled on")
    await expect(edited.locator(".edited")).to_be_visible()
    assert await page.locator(f"#chat-{ALICE} .message").count() == count
    await shot(page, "5-cancelled-in-place")


async def test_phone_sized_and_by_keyboard(browser: Browser, playground: Playground) -> None:
    page = await open_page(browser, playground.url, width=390)
    # The command menu from setMyCommands, opened and used without a mouse.
    await page.locator("#menu-button").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("menuitem", name="/books")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#text")).to_be_focused()
    await expect(page.locator("#text")).to_have_value("/books ")
    await page.keyboard.press("Enter")
    await expect(bot_message(page, ALICE, "Catalog")).to_be_in_viewport()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await shot(page, "6-phone")


async def test_the_bots_html_is_shown_never_run(browser: Browser, playground: Playground) -> None:
    page = await open_page(browser, playground.url)
    await page.locator(f'nav button[data-persona="{DANA}"]').click()
    await say(page, '/addbook <img src=x onerror="window.ran=1"> | <b>Eve</b> | 1')
    added = bot_message(page, DANA, "Added #13")
    await expect(added).to_contain_text('<img src=x onerror="window.ran=1">')
    assert await added.locator("img").count() == 0
    assert await page.evaluate("window.ran") is None


async def test_reset_starts_over(browser: Browser, playground: Playground) -> None:
    page = await open_page(browser, playground.url)
    await say(page, "/reserve 1")
    await expect(bot_message(page, ALICE, "Reserved Dune")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator("#reset").click()
    await expect(page.locator(f"#chat-{ALICE} .message")).to_have_count(0)
    await say(page, "/myreservations")
    await expect(bot_message(page, ALICE, "no reservations")).to_be_visible()


# Another site's page, as an attacker would serve it: a no-cors fetch to reset the shop,
# then a form that posts JSON as text/plain (the one trick a form has for it) as staff.
ATTACK_PAGE = """<!doctype html>
<form method="post" enctype="text/plain" action="{playground}/api/send">
<input name='{{"persona": 9001, "text": "/restock 1 7", "pad": "' value='"}}'>
</form>
<script>
(async () => {{
  await fetch("{playground}/api/reset", {{method: "POST", mode: "no-cors", body: "{{}}"}});
  await fetch("{playground}/api/state", {{mode: "no-cors"}});
  document.forms[0].submit();
}})();
</script>
"""


@pytest.fixture
async def attacker_site(playground: Playground) -> AsyncIterator[str]:
    """A page served from another origin (another port) that drives the playground."""

    async def page(_: web.Request) -> web.Response:
        html = ATTACK_PAGE.format(playground=playground.url)
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def test_another_sites_page_cannot_drive_the_playground(
    browser: Browser, playground: Playground, attacker_site: str
) -> None:
    api = playground.web_chat.api
    api.receive({"id": ALICE, "is_bot": False, "first_name": "Alice"}, "my chat, kept")
    page = await browser.new_page()
    page.set_default_timeout(WAIT_MS)
    async with page.expect_request(f"{playground.url}/api/send") as posted:
        await page.goto(attacker_site)
    answered = await (await posted.value).response()  # the playground has answered the form
    assert answered is not None
    assert answered.status == 403
    assert [m["text"] for m in api.messages_in(ALICE)] == ["my chat, kept"]  # no reset
    assert api.messages_in(DANA) == []  # no "/restock 1 7" as staff


async def test_a_chart_is_a_picture_a_table_a_download_and_neither_meets_429(
    browser: Browser, playground: Playground
) -> None:
    page = await open_page(browser, playground.url)
    await say(page, "/reserve 1")
    await expect(bot_message(page, ALICE, "Reserved")).to_be_visible()
    await page.locator(f'nav button[data-persona="{DANA}"]').click()
    await say(page, "/demand")
    chart = page.locator(f"#chat-{DANA} .message img")
    await expect(chart).to_be_visible()
    assert await chart.evaluate("image => image.complete && image.naturalWidth > 100")
    table = page.locator(f"#chat-{DANA} .message a.document")
    await expect(table).to_have_text(re.compile(r"demand-\d{4}-\d\d-\d\d\.csv"))
    await expect(page.get_by_text("application.octet-stream")).to_have_count(0)
    # Three replies at once: a burst Telegram lets through, so no red 429 line.
    await expect(page.locator("#calls li", has_text="sendDocument")).to_have_count(1)
    await expect(page.locator("#calls .refused")).to_have_count(0)
    async with page.expect_download() as downloading:
        await table.focus()
        await page.keyboard.press("Enter")  # by keyboard too
    download = await downloading.value
    assert re.fullmatch(r"demand-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    saved = await download.path()
    assert "Dune" in saved.read_text(encoding="utf-8")
    await shot(page, "7-demand-chart-and-table")


async def test_an_empty_chat_offers_start_which_sends_start(
    browser: Browser, playground: Playground
) -> None:
    page = await open_page(browser, playground.url, width=390)
    start = page.get_by_role("button", name="Start", exact=True)
    await expect(start).to_be_visible()
    await shot(page, "8-empty-chat-start")
    await start.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(f"#chat-{ALICE} .message.mine")).to_have_text("/start")
    await expect(page.locator(f"#chat-{ALICE} .message:not(.mine)")).not_to_have_count(0)
    await expect(start).to_be_hidden()
    # Another persona's chat is still empty: Start again; back in Alice's, none.
    await page.locator(f'nav button[data-persona="{BEN}"]').click()
    await expect(start).to_be_visible()
    await page.locator(f'nav button[data-persona="{ALICE}"]').click()
    await expect(start).to_be_hidden()
    # A reload draws the chat from the state: still no Start in a chat with messages.
    await page.reload()
    await expect(page.locator(f"#chat-{ALICE} .message.mine")).to_have_text("/start")
    await expect(start).to_be_hidden()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390


async def test_inline_search_picks_a_result_sent_via_the_bot(
    browser: Browser, playground: Playground
) -> None:
    page = await open_page(browser, playground.url, width=390)
    await page.locator("#text").press_sequentially("@bookstore_test_bot dune", delay=20)
    result = page.locator("#inline-results button", has_text="Dune")
    await expect(result).to_be_visible()
    await expect(result).to_contain_text("Frank Herbert")
    await shot(page, "9-inline-results")
    await page.keyboard.press("ArrowUp")  # by keyboard, from the composer
    await expect(result).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#inline-results")).to_be_hidden()
    sent = page.locator(f"#chat-{ALICE} .message.mine", has_text="via @bookstore_test_bot")
    await expect(sent.locator("b", has_text="Dune")).to_be_visible()  # its HTML rendered
    # Its button leads into the bot, as t.me/<bot>?start=book_1 does in Telegram.
    await sent.get_by_role("button", name="Reserve in the bot").click()
    await expect(
        page.locator(f"#chat-{ALICE} .message.mine", has_text="/start book_1")
    ).to_be_visible()
    await expect(bot_message(page, ALICE, "Frank Herbert").last).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await shot(page, "10-inline-sent")


async def test_blocking_the_bot_refuses_its_messages_and_unblocking_brings_them(
    browser: Browser, playground: Playground
) -> None:
    page = await open_page(browser, playground.url)
    await say(page, "/reserve 1")
    await expect(bot_message(page, ALICE, "Reserved")).to_be_visible()
    await page.get_by_role("button", name="Block bot").click()
    await expect(page.locator("#composer")).to_be_hidden()
    await expect(page.get_by_role("button", name="Unblock", exact=True)).to_be_focused()
    await shot(page, "11-blocked")

    # Staff restock: the news for Alice is refused (403) or held back while she blocks.
    await page.locator(f'nav button[data-persona="{DANA}"]').click()
    await say(page, "/restock 1 3")
    await expect(bot_message(page, DANA, "Dune")).to_be_visible()
    await expect(bot_message(page, ALICE, "Good news")).to_have_count(0)
    api = playground.web_chat.api
    # The outbox gives up on her news at once: the bot was told (my_chat_member: kicked),
    # or, had it not handled that yet when the news was due, Telegram refused it (403).
    await expect(page.locator("#outbox-rows li", has_text="to Alice: failed")).to_be_visible()
    tried = [call.error_code for call in api.sent("sendMessage", ALICE)]
    assert tried[0] is None  # "Reserved"
    assert set(tried[1:]) <= {403}
    assert api.received(ALICE, "Good news") == 0
    status, body = api.answer("sendMessage", {"chat_id": ALICE, "text": "hello?"})
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")

    # She unblocks (Telegram tells the bot: "member" again) and the news comes.
    await page.locator(f'nav button[data-persona="{ALICE}"]').click()
    await page.get_by_role("button", name="Unblock", exact=True).click()
    await expect(page.locator("#composer")).to_be_visible()
    await expect(page.get_by_role("button", name="Block bot")).to_be_visible()
    await expect(bot_message(page, ALICE, "Good news: Dune")).to_be_visible()


async def choose_language(page: Page, code: str) -> None:
    """The persona's Telegram language, once the playground took it: a message sent
    before its answer could overtake it on another connection and carry the old one."""
    async with page.expect_response("**/api/language") as answered:
        await page.get_by_label("Telegram language").select_option(code)
    assert (await answered.value).ok


async def test_a_persona_chooses_their_telegram_language(
    browser: Browser, playground: Playground
) -> None:
    page = await open_page(browser, playground.url)
    await choose_language(page, "ru")
    # Her app's command menu follows: the bot set one for Russian.
    await page.locator("#menu-button").click()
    reservations = page.get_by_role("menuitem", name="/myreservations")
    await expect(reservations).to_contain_text("ваши брони")
    await page.keyboard.press("Escape")
    await say(page, "/books")
    await expect(bot_message(page, ALICE, "Каталог")).to_be_visible()
    await page.locator(f'nav button[data-persona="{BEN}"]').click()
    await expect(page.get_by_label("Telegram language")).to_have_value("en")
    await choose_language(page, "es")
    await say(page, "/books")
    await expect(bot_message(page, BEN, "Catálogo")).to_be_visible()
    await page.locator(f'nav button[data-persona="{ALICE}"]').click()
    await expect(page.get_by_label("Telegram language")).to_have_value("ru")
    await shot(page, "12-language")


async def test_inline_results_come_even_before_the_query_is_acknowledged(
    browser: Browser, playground: Playground
) -> None:
    # On a busy machine the bot's answer (over the event stream) can come before the
    # answer to the page's own POST naming the query: its results are shown all the same.
    page = await open_page(browser, playground.url)

    async def late(route: Route) -> None:
        response = await route.fetch()
        await page.locator("#calls li", has_text="answerInlineQuery").wait_for()
        await page.wait_for_timeout(300)  # its results' event, right after, is in too
        await route.fulfill(response=response)

    await page.route("**/api/inline", late)
    await page.locator("#text").press_sequentially("@bookstore_test_bot dune", delay=20)
    await expect(page.locator("#inline-results button", has_text="Dune")).to_be_visible()


async def test_another_sites_page_cannot_load_the_files_sent_in_the_chats(
    browser: Browser, playground: Playground
) -> None:
    # A page elsewhere may name a chat's picture in an <img> (no Origin header is sent for
    # it): the browser must not load it there, or that page learns of it (its size).
    picture = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAIAAAA2iEnWAAAAEElEQVR4nGP4z8AARAwoFABE0AX7pM/egAAAAABJRU5ErkJggg=="
    )
    photo = UploadedFile("chart.png", picture, "image/png")
    status, sent = playground.web_chat.api.answer("sendPhoto", {"chat_id": ALICE, "photo": photo})
    assert status == 200, sent
    url = f"{playground.url}/files/{sent['result']['photo'][-1]['file_id']}"
    own = await open_page(browser, playground.url)
    shown = own.locator(f"#chat-{ALICE} .message img")
    await expect(shown).to_be_visible()
    assert await shown.evaluate("image => image.complete && image.naturalWidth") == 2

    async def elsewhere(_: web.Request) -> web.Response:
        return web.Response(text=f'<img id="x" src="{url}">', content_type="text/html")

    app = web.Application()
    app.router.add_get("/", elsewhere)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{runner.addresses[0][1]}/")  # its <img> tried
        image = page.locator("#x")
        assert await image.evaluate("image => image.complete && image.naturalWidth") == 0
    finally:
        await runner.cleanup()


async def test_new_inline_results_keep_the_one_chosen_by_keyboard_focused(
    browser: Browser, playground: Playground
) -> None:
    # Typing fast, then Up into the results: the query of the last keystrokes may still be
    # answered after that, redrawing the list; the result chosen keeps the focus.
    page = await open_page(browser, playground.url)
    api = playground.web_chat.api
    await page.locator("#text").fill("@bookstore_test_bot dune")
    await page.locator("#text").dispatch_event("input")
    result = page.locator("#inline-results button", has_text="Dune")
    await expect(result).to_be_visible()
    await page.locator("#text").focus()
    await page.keyboard.press("ArrowUp")
    await expect(result).to_be_focused()
    await page.locator("#text").dispatch_event("input")  # the last keystroke's query
    await page.locator("#calls li", has_text="answerInlineQuery").nth(1).wait_for()
    assert len(api.sent("answerInlineQuery")) == 2
    await page.wait_for_timeout(300)  # its results, right after its call, are drawn
    await expect(result).to_be_focused()


def mini_app_panel(page: Page) -> FrameLocator:
    return page.frame_locator("#web-app-frame")


async def test_the_menu_button_opens_the_mini_app_in_a_panel_signed_for_the_persona(
    browser: Browser, playground: Playground
) -> None:
    page = await open_page(browser, playground.url)
    # The bot set its menu button at start (setChatMenuButton with a web_app).
    menu_button = playground.web_chat.api.menus.button_for(ALICE)
    assert menu_button["web_app"]["url"] == playground.mini_app_url
    await page.get_by_role("button", name="Catalog", exact=True).click()
    panel = mini_app_panel(page)
    await expect(panel.locator("#grid .card").first).to_be_visible()
    await shot(page, "7-mini-app")
    # The persona reserves a sold-out book there (as Alice: her initData, signed).
    await panel.locator("#search").fill("dune")
    await panel.locator("#grid .card", has_text="Dune").first.click()
    await expect(panel.locator("#book-title")).to_have_text("Dune")
    await panel.locator("#book-action").click()
    await expect(panel.locator("#book-action")).to_have_text("Cancel my reservation")
    # ... and the bot confirms it in her chat.
    await expect(bot_message(page, ALICE, "Reserved Dune by Frank Herbert")).to_be_visible()
    await shot(page, "8-mini-app-reserved")
    # Closed as a dialog is, by keyboard (from the playground's side of the panel).
    await page.locator("#web-app-close").focus()
    await page.keyboard.press("Escape")
    await expect(page.locator("#web-app-panel")).to_be_hidden()
    await expect(page.locator("#text")).to_be_focused()


async def test_a_web_app_button_on_a_book_card_opens_the_mini_app(
    browser: Browser, playground: Playground
) -> None:
    page = await open_page(browser, playground.url)
    await page.locator(f'nav button[data-persona="{BEN}"]').click()
    await say(page, "/book 4")
    card = bot_message(page, BEN, "War and Peace")
    await card.get_by_role("button", name="Open catalog").click()
    panel = mini_app_panel(page)
    await panel.locator("#tab-mine").click()
    await expect(panel.locator("#status")).to_have_text("You have no reservations yet.")
    await panel.locator("#tab-catalog").click()
    await panel.locator("#grid .card", has_text="War and Peace").click()
    await panel.locator("#book-action").click()
    await expect(bot_message(page, BEN, "Reserved War and Peace")).to_be_visible()
    # The panel was Ben's: nothing reached Alice.
    await expect(page.locator(f"#chat-{ALICE} .message")).to_have_count(0)


async def test_only_a_mini_app_the_bot_offered_is_signed(playground: Playground) -> None:
    async with httpx.AsyncClient(base_url=playground.url) as client:
        refused = await client.post(
            "/api/web_app", json={"persona": ALICE, "url": "http://127.0.0.1:1/evil"}
        )
        assert refused.status_code == 400
        signed = await client.post(
            "/api/web_app", json={"persona": ALICE, "url": playground.mini_app_url}
        )
    launch = signed.json()["url"]
    assert launch.startswith(playground.mini_app_url + "#tgWebAppData=")
    init_data = parse_qs(urlsplit(launch).fragment)["tgWebAppData"][0]
    reader = InitDataCheck.for_token(PLAYGROUND_TOKEN).reader(init_data)
    assert reader.telegram_id == ALICE
