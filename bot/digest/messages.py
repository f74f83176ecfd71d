"""The digest's words: the seam through which the digest's step has the Telegram layer
write it (bot/telegram/reader_messages.py), in each staff member's language."""

from typing import Protocol

from bot.digest.schemas import Digest


class DigestMessages(Protocol):
    def digest(self, digest: Digest, language: str | None) -> str:
        """The digest as one message, in the language (None: the default), within
        Telegram's limit."""
        ...
