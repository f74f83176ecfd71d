"""The Mini App's first screen in a browser, on the playground: how soon a reader who opens
the catalog sees a grid, its 30 covers, and a page that answers their typing.

    python -m bench.mini_app_first_screen [--runs 9] [--books 60] [--width 420]

The playground runs as `python3 dev.py playground` does (the bot polling its local Bot
API, the Mini App on the bot's own web server, COVERS_URL off: generated covers), its
catalog the sample books and more, up to --books. Each run opens the Mini App in a fresh
context of Debian's headless Chromium (nothing cached: a first opening), at the address
the playground signs for Alice as its panel does (POST /api/web_app). The times are the
page's own (performance.now(), from navigation start), read by a script added before the
page's:

- first tile: the first grid card laid out on screen (its title's paint time where
  Chromium's Element Timing gives it);
- 30 covers: the last of the grid's 30 images loaded and decoded (complete, naturalWidth
  above 0);
- answers input: "dune" typed into the search as soon as the first tile is seen, and the
  grid narrowed to the matching books (the page's own 250 ms wait as a reader types
  included); with the input's delay (first-input: the handler's start less the key press).

One untimed run first (the server's and browser's first request). The network waterfall
(resource timing) is summarised beside them.
"""

import argparse
import asyncio
import os
import platform
import shutil
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from playwright.async_api import Browser, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.setup import database_server, fresh_database
from bot.books.service import CatalogRow
from bot.playground import sample_shop
from bot.playground.runner import Playground, listening_socket, running_playground
from bot.services import build_services
from bot.telegram.reader_messages import TelegramMessages

GRID_PAGE = 30
QUERY = "dune"
WAIT_MS = 30_000
ALICE = sample_shop.PERSONAS[0]

# Runs in the page before its own script: marks the moments, in performance.now().
PROBE = """
(() => {
  const marks = {tile: null, tilePaint: null, covers: null, narrowed: null, inputAt: null,
                 coversCut: false, lastInput: null, inputDelay: null, longTasks: 0, longTaskMs: 0};
  window.__firstScreen = marks;
  const visible = (element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && box.top < innerHeight && box.bottom > 0;
  };
  const cards = () => [...document.querySelectorAll("#grid .card")];
  const onChange = () => {
    const shown = cards();
    if (marks.tile === null && shown.length && visible(shown[0])) {
      marks.tile = performance.now();
      const title = shown[0].querySelector(".card-title");
      if (title) title.setAttribute("elementtiming", "first-tile");
    }
    const typed = document.getElementById("search")?.value.trim().toLowerCase();
    if (marks.narrowed === null && marks.inputAt !== null && typed && shown.length
        && shown.length < __GRID_PAGE__
        && shown.every((card) => card.textContent.toLowerCase().includes(typed))) {
      marks.narrowed = performance.now();
      // The search's answer took the first page's place before all its covers came.
      marks.coversCut = marks.covers === null;
    }
  };
  new MutationObserver(onChange).observe(document, {childList: true, subtree: true});
  const decoded = () => {
    const images = [...document.querySelectorAll("#grid .card .cover img")];
    const done = images.filter((image) => image.complete && image.naturalWidth > 0);
    if (marks.covers === null && done.length >= __GRID_PAGE__) marks.covers = performance.now();
  };
  document.addEventListener("load", (event) => {
    const image = event.target;
    if (!(image instanceof HTMLImageElement) || !image.closest("#grid")) return;
    image.decode().catch(() => {}).then(decoded);
  }, true);
  document.addEventListener("input", (event) => {
    if (marks.inputAt === null) marks.inputAt = event.timeStamp;
    marks.lastInput = event.timeStamp;
  }, true);
  const observe = (type, take) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(take))
        .observe({type, buffered: true});
    } catch (unsupported) { /* this entry type is not in this browser */ }
  };
  observe("element", (entry) => {
    if (entry.identifier === "first-tile" && marks.tilePaint === null) {
      marks.tilePaint = entry.renderTime || entry.loadTime;
    }
  });
  observe("first-input", (entry) => {
    marks.inputDelay = entry.processingStart - entry.startTime;
  });
  observe("longtask", (entry) => {
    marks.longTasks += 1;
    marks.longTaskMs += entry.duration;
  });
})();
""".replace("__GRID_PAGE__", str(GRID_PAGE))

# The waterfall, from the page's resource timing: when each kind of request ended.
WATERFALL = """
() => {
  const navigation = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const ended = (part) => {
    const found = resources.filter((entry) => entry.name.includes(part));
    return found.length ? Math.max(...found.map((entry) => entry.responseEnd)) : null;
  };
  const first = (part) => {
    const found = resources.find((entry) => entry.name.includes(part));
    return found ? found.responseEnd : null;
  };
  const covers = resources.filter((entry) => entry.name.includes("/cover"));
  const took = covers.map((entry) => entry.responseEnd - entry.startTime);
  return {
    document: navigation.responseEnd,
    contentLoaded: navigation.domContentLoadedEventEnd,
    script: ended("/app/static/app.js"),
    words: ended("/app/api/words"),
    books: first("/app/api/books?"),
    coversFirstStart: covers.length ? Math.min(...covers.map((entry) => entry.startTime)) : null,
    coversEnd: covers.length ? Math.max(...covers.map((entry) => entry.responseEnd)) : null,
    coverCount: covers.length,
    coverMedian: took.length ? took.sort((a, b) => a - b)[Math.floor(took.length / 2)] : null,
  };
}
"""


@dataclass
class Run:
    tile: float
    tile_paint: float | None
    covers: float | None
    narrowed: float
    typed: float
    last_key: float
    input_delay: float | None
    long_tasks: int
    long_task_ms: float
    waterfall: dict[str, float | None]


async def open_once(browser: Browser, launch_url: str, width: int) -> Run:
    """One first opening, in a context of its own (nothing cached), timed by the page."""
    context = await browser.new_context(viewport={"width": width, "height": 760})
    try:
        await context.add_init_script(PROBE)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        await page.goto(launch_url, wait_until="commit")
        await page.wait_for_function(
            "() => window.__firstScreen && window.__firstScreen.tile !== null"
        )
        # A reader types as soon as they see the grid.
        await page.locator("#search").press_sequentially(QUERY)
        await page.wait_for_function(
            "() => window.__firstScreen.narrowed !== null"
            " && (window.__firstScreen.covers !== null || window.__firstScreen.coversCut)"
        )
        marks = await page.evaluate("() => window.__firstScreen")
        waterfall = await page.evaluate(WATERFALL)
    finally:
        await context.close()
    return Run(
        tile=marks["tile"],
        tile_paint=marks["tilePaint"],
        covers=marks["covers"],
        narrowed=marks["narrowed"],
        typed=marks["inputAt"],
        last_key=marks["lastInput"],
        input_delay=marks["inputDelay"],
        long_tasks=marks["longTasks"],
        long_task_ms=marks["longTaskMs"],
        waterfall=waterfall,
    )


async def signed_launch_url(playground: Playground) -> str:
    """The Mini App's address with Alice's launch parameters, as the playground's panel
    asks for it (once the bot has set its menu button)."""
    async with httpx.AsyncClient(base_url=playground.url) as client:
        for _ in range(100):
            answer = await client.post(
                "/api/web_app", json={"persona": ALICE.id, "url": playground.mini_app_url}
            )
            if answer.status_code == 200:
                url: str = answer.json()["url"]
                return url
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the playground would not sign the Mini App: {answer.text}")


def more_books(count: int) -> list[tuple[str, str, int]]:
    """count books beyond the sample ones, none of them matching QUERY."""
    adjectives = ("Silent", "Golden", "Winter", "Hidden", "Northern", "Broken", "Last", "Paper")
    nouns = ("River", "Garden", "Harbour", "Letters", "Orchard", "Lantern", "Mountain", "Tide")
    authors = ("Ann Moss", "Ivan Petrov", "Lucía Gómez", "Tom Hale", "Mei Lin", "Omar Said")
    return [
        (
            f"The {adjectives[n % len(adjectives)]} {nouns[n // len(adjectives) % len(nouns)]}"
            + (f" {n // 64 + 2}" if n >= 64 else ""),
            authors[n % len(authors)],
            n % 4,
        )
        for n in range(count)
    ]


async def stock(engine: AsyncEngine, book_count: int) -> None:
    """The sample shop's books, then more, up to book_count (COVERS_URL off: drawn)."""
    services = build_services(engine, TelegramMessages())
    books = [*sample_shop.SAMPLE_BOOKS]
    books += more_books(max(0, book_count - len(books)))
    await services.books.import_books(
        CatalogRow(line, (title, author, str(quantity)))
        for line, (title, author, quantity) in enumerate(books, start=2)
    )


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("Chromium is missing: apt-get install -y chromium")


async def measure(server_url: str, runs: int, book_count: int, width: int) -> list[Run]:
    async with fresh_database(server_url) as (database_url, engine):
        await stock(engine, book_count)
        sock = listening_socket("127.0.0.1", 0, allow_remote=False)
        try:
            async with (
                running_playground(database_url, sock) as playground,
                async_playwright() as playwright,
            ):
                browser = await playwright.chromium.launch(
                    executable_path=chromium(), headless=True
                )
                try:
                    url = await signed_launch_url(playground)
                    await open_once(browser, url, width)  # untimed
                    results = []
                    for number in range(runs):
                        run = await open_once(browser, url, width)
                        print(f"run {number + 1}: {run}", flush=True)
                        results.append(run)
                finally:
                    await browser.close()
        finally:
            sock.close()
    return results


def report(options: argparse.Namespace, runs: Sequence[Run], load: tuple[str, str]) -> str:
    def row(label: str, values: Sequence[float | None]) -> str:
        known = [value for value in values if value is not None]
        if not known:
            return f"| {label} | – | – | |"
        every = ", ".join(f"{value:.0f}" for value in known)
        return f"| {label} | **{statistics.median(known):.0f}** | {max(known):.0f} | {every} |"

    def step(name: str) -> list[float | None]:
        return [run.waterfall[name] for run in runs]

    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}; load average {load[0]} before, {load[1]} after "
        "(/proc/loadavg: 1, 5, 15 min). Command: `python -m bench.mini_app_first_screen "
        f"--runs {options.runs} --books {options.books} --width {options.width}`.",
        "",
        f"The Mini App opened {len(runs)} times on the playground (fresh browser context "
        f"each, headless Chromium, {options.width} px wide, {options.books} books, generated "
        "covers), milliseconds from navigation start, the page's own clock:",
        "",
        "| | median | worst | every run |",
        "| --- | --- | --- | --- |",
        row("(a) first tile on screen", [run.tile for run in runs]),
        row("(a) its title painted (Element Timing)", [run.tile_paint for run in runs]),
        row(f"(b) all {GRID_PAGE} covers decoded", [run.covers for run in runs]),
        *(
            [f"| (b) not reached: the search's answer came first | {cut} of {len(runs)} | | |"]
            if (cut := sum(run.covers is None for run in runs))
            else []
        ),
        row(f"(c) `{QUERY}` typed at (a), grid narrowed", [run.narrowed for run in runs]),
        row("(c) first key's input event", [run.typed for run in runs]),
        row(
            "(c) last key to grid narrowed (the page waits 250 ms)",
            [run.narrowed - run.last_key for run in runs],
        ),
        row("(c) input delay (first-input)", [run.input_delay for run in runs]),
        row("long tasks (ms, total)", [run.long_task_ms for run in runs]),
        "",
        "Waterfall (resource timing, when each ended; medians, milliseconds):",
        "",
        "| | median | worst | every run |",
        "| --- | --- | --- | --- |",
        row("page (/app) received", step("document")),
        row("app.js received", step("script")),
        row("DOMContentLoaded done", step("contentLoaded")),
        row("/app/api/words", step("words")),
        row("/app/api/books (the first page)", step("books")),
        row("first cover requested", step("coversFirstStart")),
        row("last cover received", step("coversEnd")),
        row("a cover's request (median of each run's)", step("coverMedian")),
        row("covers requested", step("coverCount")),
    ]
    return "\n".join(lines)


def loadavg() -> str:
    with open("/proc/loadavg") as file:
        return " ".join(file.read().split()[:3])


async def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mini_app_first_screen")
    parser.add_argument("--runs", type=int, default=9, help="timed openings")
    parser.add_argument("--books", type=int, default=60, help="books in the catalog (≥ 30)")
    parser.add_argument("--width", type=int, default=420, help="the page's width in px")
    options = parser.parse_args(argv)
    if options.books < GRID_PAGE:
        parser.error(f"--books must be at least {GRID_PAGE}: the grid's page")
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    before = loadavg()
    with database_server() as server_url:
        runs = await measure(server_url, options.runs, options.books, options.width)
    print()
    print(report(options, runs, (before, loadavg())))


if __name__ == "__main__":
    asyncio.run(main())
