"""A book's cover as the Mini App shows it: the shop's covers service's by ISBN when it
has one (COVERS_URL), else drawn here from its title and author (an SVG on a colour taken
from the title), so there is never a broken image."""

import base64
import contextlib
import logging
import os
import textwrap
import time
import zlib
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 200, 300
TITLE_LINES, TITLE_WIDTH = 5, 16
AUTHOR_LINES, AUTHOR_WIDTH = 2, 22
# Open Library's medium covers are 10-60 KB; nothing sensible is past this.
MAX_COVER_BYTES = 2 * 1024 * 1024
COVER_TIMEOUT = 3.0
# A book the service has no cover for is asked about again after a day.
NOT_FOUND_KEPT_SECONDS = 24 * 3600
# A service that timed out, dropped the connection or answered an error is left alone
# this long: meanwhile covers are drawn at once, rather than each of a grid's 30 waiting
# out the timeout in turn (the browser asks a few at a time).
SERVICE_REST_SECONDS = 60.0


def cover_colour(title: str) -> str:
    """A dark colour drawn from the title: the same book, the same colour, everywhere."""
    hue = zlib.crc32(title.casefold().encode()) % 360
    return f"hsl({hue}, 45%, 32%)"


def generated_cover(title: str, author: str) -> str:
    """The SVG cover: the title in large type, the author below, on the title's colour."""
    colour = cover_colour(title)
    title, author = _xml_chars(title), _xml_chars(author)
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
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{colour}"/>'
        f'<rect x="12" y="12" width="{WIDTH - 24}" height="{HEIGHT - 24}" fill="none" '
        'stroke="#ffffff" stroke-opacity="0.35" stroke-width="2"/>' + "".join(texts) + "</svg>"
    )


def drawn_cover_url(title: str, author: str) -> str:
    """The drawn cover as a data: URL, sent with the book: the page shows it without a
    request of its own (30 of them held the grid's covers back by a second)."""
    svg = generated_cover(title, author).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _xml_chars(text: str) -> str:
    """text without the characters XML 1.0 forbids (U+FFFE, U+FFFF, controls): one
    of them makes the whole SVG unreadable, a broken image."""
    return "".join(
        character
        for character in text
        if character in "\t\n\r"
        or " " <= character <= "\ud7ff"
        or "\ue000" <= character <= "\ufffd"
        or character >= "\U00010000"
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


class CoverSource:
    """Covers by ISBN from an Open Library-compatible covers service (COVERS_URL):
    GET <url>/b/isbn/<isbn>-M.jpg?default=false, one request with a total timeout, kept on
    disk (a cover for good, "none" for a day). A failure (timeout, error, not an image) is
    not kept: that request gets the generated cover, and the service is left alone for
    a while (rest seconds) if the failure was its own rather than the book's."""

    def __init__(
        self,
        base_url: str,
        folder: Path,
        timeout: float = COVER_TIMEOUT,
        rest: float = SERVICE_REST_SECONDS,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._shown = urlsplit(self._base_url).hostname or "the covers service"
        self._folder = folder
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._rest = rest
        self._resting_until = 0.0

    async def image(self, isbn: str) -> bytes | None:
        """The book's cover (JPEG or PNG), or None: no cover known, or none to be had now."""
        if not isbn.isascii() or not isbn.isdigit() or len(isbn) != 13:
            return None
        found, none = self._folder / f"{isbn}.img", self._folder / f"{isbn}.none"
        # Small files, read and written whole: the event loop is not held up for long.
        if found.exists():
            return found.read_bytes()
        if none.exists() and time.time() - none.stat().st_mtime < NOT_FOUND_KEPT_SECONDS:
            return None
        if time.monotonic() < self._resting_until:
            return None
        fetched = await self._fetch(isbn)
        if fetched is None:
            return None
        self._keep(found if fetched else none, fetched)
        return fetched or None

    def _keep(self, kept: Path, data: bytes) -> None:
        """data in kept, whole or not at all for another request or process; a folder
        that takes nothing (full, read-only) costs a warning, not the cover."""
        # The process's own partial file: two processes keeping one cover never write
        # into the same file (within a process, a write is over before another begins).
        partial = kept.with_suffix(f".{os.getpid()}.partial")
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
            partial.replace(kept)
        except OSError as error:
            logger.warning("could not keep a cover in %s: %s", self._folder, error.strerror)
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)

    async def _fetch(self, isbn: str) -> bytes | None:
        """The cover; b"" when the service has none; None when it failed."""
        url = f"{self._base_url}/b/isbn/{isbn}-M.jpg"
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.get(url, params={"default": "false"}) as response,
            ):
                if response.status == 404:
                    return b""
                if response.status != 200:
                    self._failed(isbn, f"HTTP {response.status}")
                    return None
                body = await _read_at_most(response, MAX_COVER_BYTES + 1)
        except (TimeoutError, aiohttp.ClientError) as error:
            # The error's name only: aiohttp's errors carry the URL, credentials and all.
            self._failed(isbn, type(error).__name__)
            return None
        if len(body) > MAX_COVER_BYTES or image_type(body) is None:
            logger.warning("cover of %s from %s: not an image", isbn, self._shown)
            return None
        return body

    def _failed(self, isbn: str, reason: str) -> None:
        """The service itself failed: drawn covers only, until it has rested."""
        resting = time.monotonic() < self._resting_until
        self._resting_until = max(self._resting_until, time.monotonic() + self._rest)
        if not resting:
            logger.warning(
                "cover of %s from %s failed (%s): covers are drawn for the next %.0f s",
                isbn,
                self._shown,
                reason,
                self._rest,
            )


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, whole, or its first limit bytes: content.read(n) gives only what has
    arrived so far, the top of a cover that came in several segments."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])


def image_type(data: bytes) -> str | None:
    """The media type of a JPEG or PNG, by its first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None
