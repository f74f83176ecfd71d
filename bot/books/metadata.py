"""A book's title and author by ISBN, from an Open Library-compatible service
(BOOK_METADATA_URL): one request per lookup, a total timeout, no retry (staff hear at once
and may type the title and author), and the answer cached in the database for every
process (found for a month, not found for a day; errors are not cached)."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.books.models import AUTHOR_MAX_LENGTH, TITLE_MAX_LENGTH, BookMetadata
from bot.books.rules import tidy

logger = logging.getLogger(__name__)

OPEN_LIBRARY_URL = "https://openlibrary.org"
FOUND_KEPT = timedelta(days=30)
NOT_FOUND_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class Metadata:
    """What the service said about an ISBN: its title and author, or (both None) that it
    knows no such book."""

    title: str | None = None
    author: str | None = None

    @property
    def found(self) -> bool:
        return self.title is not None and self.author is not None


class MetadataSource:
    """The service at base_url, asked GET /api/books?bibkeys=ISBN:<isbn>&jscmd=data."""

    def __init__(self, base_url: str = OPEN_LIBRARY_URL, timeout: float = 5.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._shown = _without_credentials(self._base_url)
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def fetch(self, isbn: str) -> Metadata | None:
        """The service's answer, or None when it failed (an error status, a timeout, a
        broken connection, an answer that is not the JSON expected)."""
        key = f"ISBN:{isbn}"
        params = {"bibkeys": key, "format": "json", "jscmd": "data"}
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.get(f"{self._base_url}/api/books", params=params) as response,
            ):
                if response.status == 404:
                    return Metadata()
                if response.status != 200:
                    logger.warning(
                        "book metadata for %s from %s: HTTP %s", isbn, self._shown, response.status
                    )
                    return None
                answer = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError, RecursionError) as error:
            # The error's name only: aiohttp's errors carry the URL and the request's
            # headers, with the credentials BOOK_METADATA_URL may hold. RecursionError:
            # JSON nested deeper than Python's parser goes.
            logger.warning(
                "book metadata for %s from %s failed: %s", isbn, self._shown, type(error).__name__
            )
            return None
        return edition_metadata(answer, key)


def edition_metadata(answer: Any, key: str) -> Metadata | None:
    """Title and author from {key: {"title": ..., "authors": [{"name": ...}, ...]}}; an
    empty answer means not found; any other shape is not trusted (None)."""
    if not isinstance(answer, dict):
        return None
    edition = answer.get(key)
    if edition is None:
        return Metadata()
    if not isinstance(edition, dict):
        return None
    title = edition.get("title")
    authors = edition.get("authors")
    if not isinstance(title, str) or not isinstance(authors, list):
        return Metadata()
    names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    title, author = _stored(title), ", ".join(filter(None, map(_stored, names)))
    if not title or not author:
        return Metadata()
    return Metadata(title[:TITLE_MAX_LENGTH], author[:AUTHOR_MAX_LENGTH])


def _stored(text: str) -> str:
    """text as PostgreSQL takes it: no control characters (NUL is refused), no lone
    surrogate (JSON's \\ud800 is not UTF-8), whitespace collapsed."""
    return tidy(text.encode("utf-8", "ignore").decode("utf-8"))


def _without_credentials(url: str) -> str:
    """The URL's scheme, host and port for the log, never its user or password."""
    try:
        parts = urlsplit(url)
        host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        return "an invalid BOOK_METADATA_URL"
    return f"{parts.scheme}://{host}"


class MetadataCache:
    """The answers kept in book_metadata, read and written in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, isbn: str) -> Metadata | None:
        """The cached answer while it is fresh, else None."""
        kept = case((BookMetadata.found, FOUND_KEPT), else_=NOT_FOUND_KEPT)
        row = await self._session.scalar(
            select(BookMetadata)
            .where(BookMetadata.isbn == isbn)
            .where(BookMetadata.fetched_at > func.now() - kept)
        )
        if row is None:
            return None
        return Metadata(row.title, row.author) if row.found else Metadata()

    async def put(self, isbn: str, metadata: Metadata) -> None:
        values = {
            "isbn": isbn,
            "found": metadata.found,
            "title": metadata.title,
            "author": metadata.author,
        }
        statement = insert(BookMetadata).values(values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[BookMetadata.isbn],
                set_={**values, "fetched_at": func.now()},
            )
        )


async def looked_up(
    sessions: async_sessionmaker[AsyncSession], source: MetadataSource, isbn: str
) -> Metadata | None:
    """The cached answer for the ISBN, else the service's (then cached); None when the
    service failed. Asked outside any transaction: it may take up to its timeout."""
    async with sessions.begin() as session:
        metadata = await MetadataCache(session).get(isbn)
    if metadata is None:
        metadata = await source.fetch(isbn)
        if metadata is not None:
            async with sessions.begin() as session:
                await MetadataCache(session).put(isbn, metadata)
    return metadata
