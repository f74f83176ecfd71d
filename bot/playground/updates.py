"""What users do, as Telegram hands it to a bot: updates fetched by long polling."""

import asyncio
import contextlib
import itertools
import time
from typing import Any

# What Telegram leaves out of getUpdates until a bot asks for them by allowed_updates.
NOT_SENT_UNLESS_ASKED = {"chat_member", "message_reaction", "message_reaction_count"}
# Telegram holds a long poll at most this long, whatever timeout the bot asks for.
LONGEST_POLL_SECONDS = 50.0


def message_update(update_id: int, message: dict[str, Any]) -> dict[str, Any]:
    """A user's message; a /command gets its bot_command entity, as Telegram adds it."""
    message = dict(message)
    text = str(message.get("text", ""))
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int, user: dict[str, Any], data: str, message: dict[str, Any]
) -> dict[str, Any]:
    """A press on an inline button of one of the bot's messages."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id),
            "from": user,
            "chat_instance": f"instance-{user['id']}",
            "data": data,
            "message": message,
        },
    }


class UpdateQueue:
    """Updates waiting for the bot's getUpdates, confirmed by its offset as Telegram does."""

    def __init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._allowed: list[str] = []
        self._closed = False

    def next_id(self) -> int:
        return next(self._ids)

    def push(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        self._arrived.set()

    def close(self) -> None:
        """Answer every poll at once from now on (the playground is stopping)."""
        self._closed = True
        self._arrived.set()

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), LONGEST_POLL_SECONDS)
        if "allowed_updates" in params:
            self._allowed = list(params["allowed_updates"] or [])
        deadline = time.monotonic() + timeout
        while True:
            # An offset confirms every update before it; unwanted kinds never reach the bot.
            self._updates = [
                update
                for update in self._updates
                if update["update_id"] >= offset and self._wanted(update)
            ]
            remaining = deadline - time.monotonic()
            if self._updates or remaining <= 0 or self._closed:
                return list(self._updates)
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed:
            return kind in self._allowed
        return kind not in NOT_SENT_UNLESS_ASKED
