"""Shelf tags: every QR code, read back from the rendered PDF, opens its own book; no
text leaves its tag, however long the title."""

from pathlib import Path

import pypdfium2 as pdfium
import zxingcpp

from bot.database import create_engine
from bot.postgres import migrate
from bot.services import Shop, build_services
from bot.shelf_tags.pdf import PADDING, POINT, QR_SIZE, ShelfTag, shelf_tags_pdf, tag_box
from bot.telegram import deep_links
from bot.telegram.reader_messages import TelegramMessages
from tests.chat import ADMIN
from tests.conftest import TOKEN, temporary_database
from tests.db import add_books
from tests.fake_bot_api_server import running_fake_bot_api
from tests.test_command_line import bookstore_bot, plain_url

CALL = "Scan to be told when it's back"
LONG_TITLE = "The Extraordinarily Long and Winding Chronicle of " * 5
UNBROKEN = "Supercalifragilisticexpialidocious" * 7
PAGE_HEIGHT_POINTS = 842


def tags(count: int) -> list[ShelfTag]:
    titles = [LONG_TITLE[:255], UNBROKEN[:255], "Война и мир", "Dune"]
    return [
        ShelfTag(
            titles[n % len(titles)],
            "An Author With A Very Long Name Indeed " * (n % 3 + 1),
            deep_links.book_link("shop_bot", n + 1),
            # Every other tag has an ISBN under its title.
            "ISBN 978-0-441-01359-3" if n % 2 else "",
        )
        for n in range(count)
    ]


def decoded(pdf: bytes) -> list[list[str]]:
    """The QR codes' texts, page by page, read from the pages rendered at 150 dpi."""
    document = pdfium.PdfDocument(pdf)
    pages = []
    for page in document:
        image = page.render(scale=150 / 72).to_pil()
        pages.append([code.text for code in zxingcpp.read_barcodes(image)])
    return pages


def book_ids(links: list[str], username: str) -> list[int]:
    prefix = f"https://t.me/{username}?start="
    ids = []
    for link in links:
        assert link.startswith(prefix), link
        book_id = deep_links.book_id_from_start([link.removeprefix(prefix)])
        assert book_id is not None, link
        ids.append(book_id)
    return sorted(ids)


def test_every_qr_code_leads_to_its_book() -> None:
    pdf = shelf_tags_pdf(tags(11), CALL)
    pages = decoded(pdf)
    assert [len(page) for page in pages] == [8, 3]
    assert book_ids(pages[0] + pages[1], "shop_bot") == list(range(1, 12))


def test_no_text_leaves_its_tag() -> None:
    """Every character's box lies inside the tag it belongs to, and each tag's texts are
    all there: the title (wrapped, shrunk, or cut with an ellipsis), the author, the call."""
    pdf = shelf_tags_pdf(tags(8), CALL)
    page = pdfium.PdfDocument(pdf)[0]
    text_page = page.get_textpage()
    boxes = [tag_box(index)[1] for index in range(8)]
    seen = [0] * 8
    for index in range(text_page.count_chars()):
        if not text_page.get_text_range(index, 1).strip():
            continue
        left, bottom, right, top = text_page.get_charbox(index)
        x, y = left * POINT, (PAGE_HEIGHT_POINTS - top) * POINT
        inside = [
            number
            for number, box in enumerate(boxes)
            if box.x <= x
            and right * POINT <= box.x + box.width
            and box.y <= y
            and (PAGE_HEIGHT_POINTS - bottom) * POINT <= box.y + box.height
        ]
        assert inside, f"character {text_page.get_text_range(index, 1)!r} outside every tag"
        box = boxes[inside[0]]
        assert right * POINT <= box.x + box.width - PADDING - QR_SIZE, "text over the QR code"
        seen[inside[0]] += 1
    assert all(seen), seen
    text = text_page.get_text_bounded()
    assert text.count("Scan to be told") == 8
    assert "…" in text  # the unbroken title was cut, not run off the tag
    assert "Война и мир" in text
    assert text.count("ISBN 978-0-441-01359-3") == 4


async def test_the_command_prints_the_sold_out_books_tags(server_url: str, tmp_path: Path) -> None:
    async with temporary_database(server_url) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await migrate.upgrade_on(connection)
        services = build_services(engine, TelegramMessages(), Shop(frozenset({ADMIN.id})))
        await add_books(
            services,
            ("Dune", "Frank Herbert", 0),
            ("Emma", "Jane Austen", 3),
            (LONG_TITLE[:255], "Anon", 0),
        )
        await services.books.add_book(ADMIN.id, "Dune Messiah", "Frank Herbert", 0, "0441013597")
        await engine.dispose()
        output = tmp_path / "tags.pdf"
        result = await bookstore_bot(
            tmp_path,
            "shelf-tags",
            "--output",
            str(output),
            "--sold-out",
            "--bot-username",
            "@shop_bot",
            DATABASE_URL=plain_url(url),
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"Wrote 3 shelf tags to {output}.\n"
        [page] = decoded(output.read_bytes())
        assert book_ids(page, "shop_bot") == [1, 3, 4]
        # The ISBN, when the book has one, under its title.
        text = pdfium.PdfDocument(output.read_bytes())[0].get_textpage().get_text_bounded()
        assert text.count("ISBN 978-0-441-01359-3") == 1

        # Without --bot-username, getMe with the token says who the bot is.
        with running_fake_bot_api() as telegram:
            result = await bookstore_bot(
                tmp_path,
                "shelf-tags",
                "--output",
                str(output),
                DATABASE_URL=plain_url(url),
                BOT_TOKEN=TOKEN,
                TELEGRAM_BASE_URL=telegram.base_url,
            )
        assert result.returncode == 0, result.stderr
        [page] = decoded(output.read_bytes())
        assert book_ids(page, "bookstore_test_bot") == [1, 2, 3, 4]
        assert TOKEN not in result.stdout + result.stderr


async def test_without_token_or_username_the_command_says_so(
    server_url: str, tmp_path: Path
) -> None:
    async with temporary_database(server_url) as url:
        result = await bookstore_bot(
            tmp_path,
            "shelf-tags",
            "--output",
            str(tmp_path / "t.pdf"),
            DATABASE_URL=plain_url(url),
        )
    assert result.returncode == 2
    assert result.stderr == (
        "bookstore-bot: error: set BOT_TOKEN, or give the bot's username with --bot-username\n"
    )
