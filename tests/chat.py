"""Talking to the real Application the way Telegram does: real Update objects in,
recorded Bot API calls out."""

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.playground import updates
from bot.playground.local_bot_api import BOT_USER, SentRequest
from bot.services import Services
from bot.telegram.application import dispatcher
from bot.telegram.context import SERVICES, BotApplication
from tests.fake_telegram import FakeBotApi


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    username: str | None = None
    # The IETF tag of the language their Telegram app is set to ("ru", "es-419").
    language_code: str | None = None

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def private_chat(self) -> dict[str, Any]:
        return updates.private_chat(self.as_user())


ALICE = Person(1001, "Alice", "alice")
BOB = Person(1002, "Bob", "bob")
CAROL = Person(1003, "Carol")
ADMIN = Person(9001, "Dana", "dana_staff")


def message_update(
    update_id: int, person: Person, text: str, chat: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A message as Telegram sends it (private unless chat is given); /command gets its entity."""
    return updates.message_update(
        update_id, updates.text_message(update_id, person.as_user(), text, chat)
    )


def callback_update(
    update_id: int, person: Person, data: str, message: dict[str, Any]
) -> dict[str, Any]:
    return updates.callback_update(update_id, person.as_user(), data, message)


ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


def catalog_message(person: Person) -> dict[str, Any]:
    """The catalog message the bot sent the reader earlier, with a Reserve button for book 1."""
    return {
        "message_id": 1,
        "from": BOT_USER,
        "chat": person.private_chat(),
        "date": int(time.time()),
        "text": "Catalog",
        "reply_markup": {"inline_keyboard": [[{"text": "Reserve #1", "callback_data": "r:1"}]]},
    }


def bot_as_member(status: str) -> dict[str, Any]:
    """The bot as a ChatMember with this status, with the fields Telegram sends for it."""
    member: dict[str, Any] = {"user": BOT_USER, "status": status}
    if status == "kicked":
        member["until_date"] = 0  # forever
    if status == "administrator":
        member.update(dict.fromkeys(ADMIN_RIGHTS, False))
    return member


def my_chat_member_update(
    update_id: int, person: Person, old: str, new: str, chat: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The bot's own membership changed, as Telegram reports it: in a private chat,
    "kicked" when the person blocks the bot and "member" when they unblock it."""
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": chat or person.private_chat(),
            "from": person.as_user(),
            "date": int(time.time()),
            "old_chat_member": bot_as_member(old),
            "new_chat_member": bot_as_member(new),
        },
    }


class Chat:
    """Feeds updates to the application and returns what the bot sent in answer."""

    def __init__(self, application: BotApplication, api: FakeBotApi) -> None:
        self.application = application
        self.api = api
        self._update_ids = itertools.count(1)

    async def feed(self, data: dict[str, Any]) -> list[SentRequest]:
        """Process one update; return the calls made meanwhile (all of them, when several
        updates are fed at once: then look at the api by chat instead)."""
        start = len(self.api.requests)
        update = Update.de_json(data, self.application.bot)
        # In a task of its own, as the Application runs each update: what one update
        # sets in its context (the language it speaks) stays there.
        await asyncio.create_task(self.application.process_update(update))
        return self.api.requests[start:]

    async def send(
        self, person: Person, text: str, chat: dict[str, Any] | None = None
    ) -> list[SentRequest]:
        return await self.feed(message_update(next(self._update_ids), person, text, chat))

    async def block(self, person: Person) -> list[SentRequest]:
        """The person blocks the bot (and Telegram refuses messages to them from now on)."""
        self.api.failing_chats[person.id] = 403
        return await self.feed(
            my_chat_member_update(next(self._update_ids), person, "member", "kicked")
        )

    async def unblock(self, person: Person) -> list[SentRequest]:
        """The person unblocks the bot."""
        self.api.failing_chats.pop(person.id, None)
        return await self.feed(
            my_chat_member_update(next(self._update_ids), person, "kicked", "member")
        )

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def send_one(self, person: Person, text: str) -> SentRequest:
        """Send and expect exactly one reply message."""
        replies = await self.send(person, text)
        assert [reply.method for reply in replies] == ["sendMessage"], replies
        return replies[0]

    async def press_data(
        self, person: Person, data: str, on: SentRequest | dict[str, Any]
    ) -> list[SentRequest]:
        """Press a button carrying data (forged data included) under a message."""
        message = on if isinstance(on, dict) else self.current(on)
        return await self.feed(callback_update(next(self._update_ids), person, data, message))

    async def press(self, person: Person, label_start: str, on: SentRequest) -> list[SentRequest]:
        """Press the button whose label starts with label_start on a message the bot sent."""
        labels = self.current_buttons(on)
        matching = [data for label, data in labels if label.startswith(label_start)]
        assert len(matching) == 1, f"no single button {label_start!r} in {labels}"
        return await self.press_data(person, matching[0], on)

    def current(self, sent: SentRequest) -> dict[str, Any]:
        """The message as it now stands in the chat, after any edits."""
        result = sent.result
        return self.api.message(result["chat"]["id"], result["message_id"])

    def current_buttons(self, sent: SentRequest) -> list[tuple[str, str]]:
        markup = self.current(sent).get("reply_markup", {})
        return [
            (button["text"], button["callback_data"])
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]

    async def deliveries_done(self, limit_seconds: float = 30.0) -> None:
        """Wait until every notification is sent or failed, nothing left under way."""
        notifications = dispatcher(self.application)
        services: Services = self.application.bot_data[SERVICES]
        async with asyncio.timeout(limit_seconds):
            while await services.outbox.pending_count() or notifications.under_way:
                notifications.wake()
                await asyncio.sleep(0.01)


def inline_query_update(
    update_id: int, person: Person, query: str, offset: str = ""
) -> dict[str, Any]:
    """Someone typing `@bot <query>` in any chat, as Telegram reports it."""
    return {
        "update_id": update_id,
        "inline_query": {
            "id": f"inline-{update_id}",
            "from": person.as_user(),
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        },
    }
