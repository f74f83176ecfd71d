"""Draws the staff guide's pictures of a book card, a shelf tag and the /demand chart, with
the bot's own texts and renderers: `.venv/bin/python docs/images.py`."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont

from bot.books.schemas import BookView
from bot.cards.schemas import BookCard, Waiting
from bot.demand.schemas import BookDemand, DemandReport
from bot.shelf_tags import texts as tag_texts
from bot.shelf_tags.pdf import FONTS, ShelfTag, shelf_tags_pdf, tag_box
from bot.telegram import deep_links
from bot.telegram.handlers.demand import files
from bot.telegram.texts import cards, formatting

DOCS = Path(__file__).parent
USERNAME = "bookstore_bot"
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
WIDTH, PAD, LINE = 620, 18, 26
# Telegram draws these as colour emoji; DejaVu has look-alikes in black and white.
EMOJI_LOOK_ALIKES = str.maketrans({"❌": "✘", "✅": "✔", "⏳": "◷", "📬": "✉"})


def card_image() -> None:
    """The card as Telegram shows it: a message bubble and its one button."""
    book = BookView(12, "Dune", "Frank Herbert", 0)
    card = BookCard(book, Waiting(31, 3, NOW - timedelta(days=2)), 7)
    text = formatting.as_plain(cards.book_card(card, deep_links.book_link(USERNAME, 12)))
    lines = text.translate(EMOJI_LOOK_ALIKES).split("\n")
    regular = ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 17)
    bold = ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), 17)
    bubble_height = PAD * 2 + LINE * len(lines)
    image = Image.new("RGB", (WIDTH + 40, bubble_height + 100), "#dfe7ee")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((20, 20, 20 + WIDTH, 20 + bubble_height), 14, fill="white")
    for number, line in enumerate(lines):
        font = bold if number == 0 else regular
        colour = "#2a7ab0" if line.startswith("Share") else "black"
        draw.text((20 + PAD, 20 + PAD + number * LINE), line, font=font, fill=colour)
    top = 20 + bubble_height + 8
    draw.rounded_rectangle((20, top, 20 + WIDTH, top + 44), 10, fill="#8aa4b8")
    label = cards.card_cancel_button()
    width = draw.textlength(label, font=bold)
    draw.text((20 + (WIDTH - width) / 2, top + 12), label, font=bold, fill="white")
    image.save(DOCS / "card.png")


def tag_image() -> None:
    tag = ShelfTag("Dune", "Frank Herbert", deep_links.book_link(USERNAME, 12))
    pdf = shelf_tags_pdf([tag], tag_texts.shelf_tag_call_to_scan())
    scale = 200 / 72
    page = pdfium.PdfDocument(pdf)[0].render(scale=scale).to_pil()
    _, box = tag_box(0)
    millimetre = scale * 72 / 25.4
    crop = [
        round(value * millimetre)
        for value in (box.x - 1, box.y - 1, box.x + box.width + 1, box.y + box.height + 1)
    ]
    page.crop(tuple(crop)).save(DOCS / "shelf-tag.png")


def chart_image() -> None:
    titles = [
        ("Dune", 342),
        ("The Master and Margarita", 287),
        ("Война и мир", 251),
        ("Solaris", 198),
        ("One Hundred Years of Solitude", 176),
        ("The Left Hand of Darkness", 150),
        ("Pride and Prejudice", 131),
        ("Crime and Punishment", 118),
        ("The Name of the Rose", 97),
        ("Middlemarch", 85),
        ("Ulysses", 74),
        ("Emma", 61),
        ("Kindred", 48),
        ("The Dispossessed", 37),
        ("Beloved", 29),
    ]
    # Under hold_in_line: each bar stacks the readers waiting and the copies on hold.
    outcomes = ("set_aside", "collected", "released", "expired", "cancelled")
    books = tuple(
        BookDemand(
            BookView(n + 1, title, "", 12 - n % 12),
            waiting,
            NOW - timedelta(days=40),
            (20, 14, 2, 1, 3),
            12 - n % 12,
        )
        for n, (title, waiting) in enumerate(titles)
    )
    chart, _ = files(DemandReport(books, outcomes, 30, NOW, holds=True))
    (DOCS / "demand-chart.png").write_bytes(chart)


if __name__ == "__main__":
    card_image()
    tag_image()
    chart_image()
