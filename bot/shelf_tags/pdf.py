"""Printable shelf tags: an A4 grid, each tag a book's title, author, a call to scan and a
QR code of the book's link into the bot.

fpdf2 writes the PDF (pure Python; it measures and wraps text in the fonts it embeds);
segno makes the QR codes, drawn as vector squares so they print sharp at any size. The
font is DejaVu Sans, which matplotlib ships (Latin, Greek, Cyrillic and more), so
titles in those scripts print as they are without a font to install.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import segno

if TYPE_CHECKING:
    from fpdf import FPDF

PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0  # A4, millimetres
MARGIN = 10.0
COLUMNS, ROWS = 2, 4
TAG_WIDTH = (PAGE_WIDTH - 2 * MARGIN) / COLUMNS
TAG_HEIGHT = (PAGE_HEIGHT - 2 * MARGIN) / ROWS
PADDING = 4.0
QR_SIZE = 38.0  # with its quiet zone; about 33 mm of code, easy for any phone
TEXT_WIDTH = TAG_WIDTH - 3 * PADDING - QR_SIZE
CALL_SIZE = 8.0  # points
TITLE_SIZES = (16.0, 14.0, 12.0, 11.0, 10.0, 9.0, 8.0)
AUTHOR_SIZES = (11.0, 10.0, 9.0, 8.0, 7.0)
TITLE_LINES, AUTHOR_LINES = 5, 3
ISBN_SIZE = 7.0
LINE_SPACING = 1.2
POINT = 25.4 / 72  # millimetres
FAMILY = "DejaVu"
ELLIPSIS = "…"


@dataclass(frozen=True)
class ShelfTag:
    title: str
    author: str
    link: str
    # The book's ISBN line as printed under the title ("ISBN 978-…"); empty for none.
    isbn: str = ""


@dataclass(frozen=True)
class Box:
    """A rectangle on the page, in millimetres from the top left."""

    x: float
    y: float
    width: float
    height: float


def tag_box(index: int) -> tuple[int, Box]:
    """The page (from 0) and the rectangle of the index-th tag."""
    page, place = divmod(index, COLUMNS * ROWS)
    row, column = divmod(place, COLUMNS)
    return page, Box(MARGIN + column * TAG_WIDTH, MARGIN + row * TAG_HEIGHT, TAG_WIDTH, TAG_HEIGHT)


def shelf_tags_pdf(tags: Sequence[ShelfTag], call_to_scan: str) -> bytes:
    """The tags, COLUMNS by ROWS to an A4 page, with light lines to cut along."""
    # Imported here: fpdf2 and matplotlib take about a second to load, which every other
    # bookstore-bot command (the image's health check, each half minute) would pay.
    import matplotlib
    from fpdf import FPDF

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font(FAMILY, "", fonts / "DejaVuSans.ttf")
    pdf.add_font(FAMILY, "B", fonts / "DejaVuSans-Bold.ttf")
    pdf.add_font(FAMILY, "I", fonts / "DejaVuSans-Oblique.ttf")
    pdf.set_draw_color(190, 190, 190)
    pdf.set_line_width(0.2)
    for index, tag in enumerate(tags):
        page, box = tag_box(index)
        if page == pdf.page_no():
            pdf.add_page()
        draw_tag(pdf, tag, box, call_to_scan)
    if not tags:
        pdf.add_page()
    return bytes(pdf.output())


def draw_tag(pdf: "FPDF", tag: ShelfTag, box: Box, call_to_scan: str) -> None:
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.rect(box.x, box.y, box.width, box.height)
    pdf.set_dash_pattern()
    qr_x = box.x + box.width - PADDING - QR_SIZE
    qr_y = box.y + (box.height - QR_SIZE) / 2
    draw_qr(pdf, tag.link, qr_x, qr_y, QR_SIZE)
    text_x = box.x + PADDING
    bottom = box.y + box.height - PADDING
    call_lines = fitted(pdf, call_to_scan, "I", (CALL_SIZE, 7.0, 6.0), 2)
    call_height = lines_height(call_lines)
    room = bottom - call_height - (box.y + PADDING) - 3.0
    author = fitted(pdf, tag.author, "", AUTHOR_SIZES, AUTHOR_LINES)
    isbn = fitted(pdf, tag.isbn, "", (ISBN_SIZE,), 1) if tag.isbn else Lines((), ISBN_SIZE, "")
    room -= lines_height(isbn)
    title = fitted(
        pdf,
        tag.title,
        "B",
        TITLE_SIZES,
        min(TITLE_LINES, lines_that_fit(room - lines_height(author) - 2.0, TITLE_SIZES[-1])),
    )
    y = box.y + PADDING
    y = write_lines(pdf, title, text_x, y)
    y = write_lines(pdf, isbn, text_x, y)
    write_lines(pdf, author, text_x, y + 2.0)
    write_lines(pdf, call_lines, text_x, bottom - call_height)


@dataclass(frozen=True)
class Lines:
    """Text broken to fit the text column, at a font size, in a style."""

    lines: tuple[str, ...]
    size: float
    style: str


def fitted(pdf: "FPDF", text: str, style: str, sizes: Sequence[float], max_lines: int) -> Lines:
    """The text at the largest size at which it takes at most max_lines lines; at the
    smallest size, cut after max_lines lines with an ellipsis."""
    max_lines = max(max_lines, 1)
    for size in sizes:
        lines = broken(pdf, text, style, size)
        if len(lines) <= max_lines:
            return Lines(tuple(lines), size, style)
    size = sizes[-1]
    kept = broken(pdf, text, style, size)[:max_lines]
    last = kept[-1]
    while last and pdf.get_string_width(last + ELLIPSIS) > TEXT_WIDTH:
        last = last[:-1]
    return Lines((*kept[:-1], last.rstrip() + ELLIPSIS), size, style)


def broken(pdf: "FPDF", text: str, style: str, size: float) -> list[str]:
    pdf.set_font(FAMILY, style, size)
    lines = pdf.multi_cell(
        TEXT_WIDTH, size * POINT * LINE_SPACING, text, dry_run=True, output="LINES"
    )
    assert isinstance(lines, list)  # output="LINES" gives the lines alone
    return [str(line) for line in lines]


def lines_height(lines: Lines) -> float:
    return len(lines.lines) * lines.size * POINT * LINE_SPACING


def lines_that_fit(height: float, size: float) -> int:
    return int(height // (size * POINT * LINE_SPACING))


def write_lines(pdf: "FPDF", lines: Lines, x: float, y: float) -> float:
    """Write the lines from (x, y) down; return where the next text may start."""
    pdf.set_font(FAMILY, lines.style, lines.size)
    height = lines.size * POINT * LINE_SPACING
    for line in lines.lines:
        pdf.set_xy(x, y)
        pdf.cell(TEXT_WIDTH, height, line)
        y += height
    return y


def draw_qr(pdf: "FPDF", link: str, x: float, y: float, size: float) -> None:
    """The link's QR code as black squares, its quiet zone (4 modules) included in size."""
    code = segno.make(link, error="m", micro=False)
    matrix = [list(row) for row in code.matrix]
    modules = len(matrix) + 8
    module = size / modules
    pdf.set_fill_color(0, 0, 0)
    for row_number, row in enumerate(matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            pdf.rect(
                x + (4 + start) * module,
                y + (4 + row_number) * module,
                (column - start) * module,
                module,
                style="F",
            )
