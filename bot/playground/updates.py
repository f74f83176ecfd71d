"""What users do, as Telegram hands it to a bot: updates, and which of them getUpdates gives."""

import asyncio
import contextlib
import itertools
import time
from typing import Any

# What Telegram leaves out of getUpdates until a bot asks for them by allowed_updates.
NOT_SENT_UNLESS_ASKED = {"chat_member", "message_reaction", "message_reaction_count"}
# Telegram holds a long poll at most this long, whatever timeout the bot asks for.
LONGEST_POLL_SECONDS = 50.0


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    """The user's private chat with the bot, as a message names it."""
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


def text_message(
    message_id: int, user: dict[str, Any], text: str, chat: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A text the user wrote, in their private chat with the bot unless chat is given."""
    return {
        "message_id": message_id,
        "from": user,
        "chat": chat or private_chat(user),
        "date": int(time.time()),
        "text": text,
    }


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


def membership_update(
    update_id: int, user: dict[str, Any], bot: dict[str, Any], blocked: bool
) -> dict[str, Any]:
    """The user blocked the bot (it is "kicked" from their private chat) or unblocked it
    ("member" again), as Telegram tells the bot in a my_chat_member update."""
    kicked: dict[str, Any] = {"user": bot, "status": "kicked", "until_date": 0}
    member: dict[str, Any] = {"user": bot, "status": "member"}
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": private_chat(user),
            "from": user,
            "date": int(time.time()),
            "old_chat_member": member if blocked else kicked,
            "new_chat_member": kicked if blocked else member,
        },
    }


def inline_query_update(update_id: int, user: dict[str, Any], query: str) -> dict[str, Any]:
    """The user typed "@bot query" in their chat with the bot."""
    return {
        "update_id": update_id,
        "inline_query": {
            "id": str(update_id),
            "from": user,
            "query": query,
            "offset": "",
            "chat_type": "sender",
        },
    }


class PendingUpdates:
    """The updates Telegram keeps for a bot's getUpdates, and which of them a call gets.
    Not thread-safe, and it never waits: each server holds its long polls its own way."""

    def __init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        # The last allowed_updates a getUpdates gave: Telegram keeps it until changed.
        self._allowed: list[str] = []

    def next_id(self) -> int:
        return next(self._ids)

    def push(self, update: dict[str, Any]) -> None:
        self._updates.append(update)

    def begin_poll(self, params: dict[str, Any], longest: float) -> tuple[int, float]:
        """A getUpdates call's offset and how long it may wait for updates (its timeout,
        at most longest); its allowed_updates, when given, stand until changed."""
        if "allowed_updates" in params:
            self._allowed = list(params["allowed_updates"] or [])
        return int(params.get("offset") or 0), min(float(params.get("timeout") or 0), longest)

    def after(self, offset: int) -> list[dict[str, Any]]:
        """The updates from offset on: an offset confirms (drops) every update before it,
        and kinds the bot did not ask for never reach it."""
        self._updates = [
            update
            for update in self._updates
            if update["update_id"] >= offset and self._wanted(update)
        ]
        return list(self._updates)

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed:
            return kind in self._allowed
        return kind not in NOT_SENT_UNLESS_ASKED


class UpdateQueue:
    """Updates waiting for the bot's getUpdates, held as Telegram's long polls are."""

    def __init__(self) -> None:
        self._pending = PendingUpdates()
        self._arrived = asyncio.Event()
        self._closed = False

    def next_id(self) -> int:
        return self._pending.next_id()

    def push(self, update: dict[str, Any]) -> None:
        self._pending.push(update)
        self._arrived.set()

    def close(self) -> None:
        """Answer every poll at once from now on (the playground is stopping)."""
        self._closed = True
        self._arrived.set()

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset, timeout = self._pending.begin_poll(params, LONGEST_POLL_SECONDS)
        deadline = time.monotonic() + timeout
        while True:
            updates = self._pending.after(offset)
            remaining = deadline - time.monotonic()
            if updates or remaining <= 0 or self._closed:
                return updates
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
