"""A book's cover as the Mini App shows it: drawn here from its title and author (an SVG
on a colour taken from the title), so there is never a broken image."""

import textwrap
import zlib
from html import escape

WIDTH, HEIGHT = 200, 300
TITLE_LINES, TITLE_WIDTH = 5, 16
AUTHOR_LINES, AUTHOR_WIDTH = 2, 22


def cover_colour(title: str) -> str:
    """A dark colour drawn from the title: the same book, the same colour, everywhere."""
    hue = zlib.crc32(title.casefold().encode()) % 360
    return f"hsl({hue}, 45%, 32%)"


def generated_cover(title: str, author: str) -> str:
    """The SVG cover: the title in large type, the author below, on the title's colour."""
    title_lines = _lines(title, TITLE_WIDTH, TITLE_LINES)
    author_lines = _lines(author, AUTHOR_WIDTH, AUTHOR_LINES)
    texts = [_text(line, 60 + 26 * number, 20, "700") for number, line in enumerate(title_lines)]
    texts += [
        _text(line, HEIGHT - 50 + 20 * number, 14, "400")
        for number, line in enumerate(author_lines)
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{cover_colour(title)}"/>'
        f'<rect x="12" y="12" width="{WIDTH - 24}" height="{HEIGHT - 24}" fill="none" '
        'stroke="#ffffff" stroke-opacity="0.35" stroke-width="2"/>' + "".join(texts) + "</svg>"
    )


def _lines(text: str, width: int, most: int) -> list[str]:
    lines = textwrap.wrap(text, width, break_long_words=True) or [""]
    if len(lines) > most:
        rest = " ".join(lines[most - 1 :])
        lines = [*lines[: most - 1], textwrap.shorten(rest, width, placeholder="…")]
    return lines


def _text(line: str, y: int, size: int, weight: str) -> str:
    return (
        f'<text x="{WIDTH // 2}" y="{y}" fill="#ffffff" font-family="sans-serif" '
        f'font-size="{size}" font-weight="{weight}" text-anchor="middle">{escape(line)}</text>'
    )
