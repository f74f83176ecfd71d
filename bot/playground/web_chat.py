"""The playground's web chat: the page, what its personas do, and what the bot did, live."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.playground import sample_shop
from bot.playground.bot_api_server import bot_api_route
from bot.playground.local_bot_api import BOT_USER, LocalBotApi, SentRequest
from bot.playground.outbox_view import outbox_summary
from bot.playground.page_requests import PERSONAS, BadAction, json_body, persona_of, refused
from bot.playground.page_views import (
    file_response,
    shown_call,
    shown_inline_results,
    shown_message,
)
from bot.playground.telegram_rules import utf16_length
from bot.playground.updates import (
    UpdateQueue,
    callback_update,
    inline_query_update,
    membership_update,
    message_update,
)
from bot.playground.web_app_launch import launch_url, offered_web_apps
from bot.services import Services

STATIC = Path(__file__).parent / "static"
KEEPALIVE_SECONDS = 15.0
OUTBOX_REFRESH_SECONDS = 0.5
LATEST_CALLS = 60
MAX_TEXT_LENGTH = 4096
# The languages a persona's Telegram app can be set to here: the bot's own three.
LANGUAGES = ("en", "ru", "es")
# Telegram sends an inline query of at most this many characters (UTF-16 units).
MAX_INLINE_QUERY_LENGTH = 256


class WebChat:
    """The chats of the playground's personas with the bot, and a live feed of events."""

    def __init__(
        self, token: str, api: LocalBotApi, engine: AsyncEngine, services: Services
    ) -> None:
        self.token = token
        self.api = api
        self.updates = UpdateQueue()
        self._engine = engine
        self._services = services
        self._listeners: set[asyncio.Queue[dict[str, Any] | None]] = set()
        # callback query id -> the chat whose button it was, to show the bot's answer there
        self._query_chats: dict[str, int] = {}
        self._outbox: dict[str, Any] = {"counts": {}, "latest": []}
        # each persona's Telegram app language (language_code on their updates)
        self._languages: dict[int, str] = dict.fromkeys(PERSONAS, "en")
        # inline query id -> the persona who typed it, to show them the bot's answer
        self._inline_queries: dict[str, int] = {}
        api.listeners.append(self._on_bot_api_event)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self._page),
            Route("/api/state", self._state),
            Route("/api/send", self._send, methods=["POST"]),
            Route("/api/press", self._press, methods=["POST"]),
            Route("/api/reset", self._reset, methods=["POST"]),
            Route("/api/language", self._language, methods=["POST"]),
            Route("/api/block", self._block, methods=["POST"]),
            Route("/api/inline", self._inline, methods=["POST"]),
            Route("/api/choose", self._choose, methods=["POST"]),
            Route("/api/web_app", self._web_app, methods=["POST"]),
            Route("/api/events", self._events),
            Route("/files/{file_id}", self._file),
            Mount("/static", StaticFiles(directory=STATIC)),
            bot_api_route(self.token, self.api, self.updates),
        ]

    def close(self) -> None:
        """End every live feed and long poll, so the server can stop at once."""
        self.updates.close()
        for listener in self._listeners:
            listener.put_nowait(None)

    async def watch_outbox(self) -> None:
        """Tell the page whenever the outbox changes (the dispatcher works on its own)."""
        while True:
            summary = await outbox_summary(self._engine)
            if summary != self._outbox:
                self._outbox = summary
                self._publish({"kind": "outbox", "outbox": summary})
            await asyncio.sleep(OUTBOX_REFRESH_SECONDS)

    # What the page asks for

    async def _page(self, _: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def _state(self, _: Request) -> Response:
        return JSONResponse(
            {
                "bot_username": BOT_USER["username"],
                "languages": list(LANGUAGES),
                "personas": [
                    {
                        "id": p.id,
                        "name": p.first_name,
                        "role": p.role,
                        "language": self._languages[p.id],
                        "blocked": p.id in self.api.blocked,
                    }
                    for p in PERSONAS.values()
                ],
                "commands": self.api.menus.commands,
                "menus": {str(p): self._menu(p) for p in PERSONAS},
                "menu_buttons": {str(p): self.api.menus.button_for(p) for p in PERSONAS},
                "chats": {
                    str(persona): [shown_message(m) for m in self.api.messages_in(persona)]
                    for persona in PERSONAS
                },
                "calls": [self._call(r) for r in self.api.requests[-LATEST_CALLS:]],
                "outbox": self._outbox,
            }
        )

    async def _send(self, request: Request) -> Response:
        try:
            body = await json_body(request)
            persona = persona_of(body)
            text = body.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_LENGTH:
                raise BadAction("a message is 1 to 4096 characters")
            self._not_blocked(persona)
        except BadAction as error:
            return refused(error)
        message = self.api.receive(self._user(persona), text)
        self.updates.push(message_update(self.updates.next_id(), message))
        return JSONResponse({"ok": True})

    async def _press(self, request: Request) -> Response:
        try:
            body = await json_body(request)
            persona = persona_of(body)
            message_id, data = body.get("message_id"), body.get("data")
            try:
                message = self.api.message(persona.id, int(str(message_id)))
            except (KeyError, ValueError):
                raise BadAction("no such message in this chat") from None
            buttons = message.get("reply_markup", {}).get("inline_keyboard", [])
            pressable = {button.get("callback_data") for row in buttons for button in row}
            if not isinstance(data, str) or data not in pressable:
                raise BadAction("the message has no such button (any more)")
            self._not_blocked(persona)
        except BadAction as error:
            return refused(error)
        update = callback_update(self.updates.next_id(), self._user(persona), str(data), message)
        self._query_chats[update["callback_query"]["id"]] = persona.id
        self.updates.push(update)
        return JSONResponse({"ok": True})

    async def _reset(self, request: Request) -> Response:
        try:
            await json_body(request)
        except BadAction as error:
            return refused(error)
        await sample_shop.start_over(self._engine, self._services)
        self.api.forget()
        self._query_chats.clear()
        self._inline_queries.clear()
        self._languages = dict.fromkeys(PERSONAS, "en")
        self._publish({"kind": "reset"})
        return JSONResponse({"ok": True})

    async def _language(self, request: Request) -> Response:
        """The persona's Telegram app language, sent as language_code from now on."""
        try:
            body = await json_body(request)
            persona = persona_of(body)
            language = body.get("language")
            if language not in LANGUAGES:
                raise BadAction(f"a language is one of {', '.join(LANGUAGES)}")
        except BadAction as error:
            return refused(error)
        self._languages[persona.id] = str(language)
        return JSONResponse({"ok": True, "menu": self._menu(persona.id)})

    async def _block(self, request: Request) -> Response:
        """The persona blocks or unblocks the bot: Telegram tells the bot (my_chat_member:
        "kicked", "member" again) and, while blocked, refuses its messages with 403."""
        try:
            body = await json_body(request)
            persona = persona_of(body)
            blocked = body.get("blocked")
            if not isinstance(blocked, bool):
                raise BadAction("blocked is true or false")
        except BadAction as error:
            return refused(error)
        if blocked != (persona.id in self.api.blocked):
            if blocked:
                self.api.blocked.add(persona.id)
            else:
                self.api.blocked.discard(persona.id)
            update = membership_update(
                self.updates.next_id(), self._user(persona), BOT_USER, blocked
            )
            self.updates.push(update)
        self._publish({"kind": "blocked", "chat_id": persona.id, "blocked": blocked})
        return JSONResponse({"ok": True})

    async def _inline(self, request: Request) -> Response:
        """The persona typed "@bot query": an inline query, answered with results to pick."""
        try:
            body = await json_body(request)
            persona = persona_of(body)
            query = body.get("query")
            if not isinstance(query, str) or utf16_length(query) > MAX_INLINE_QUERY_LENGTH:
                raise BadAction(f"an inline query is at most {MAX_INLINE_QUERY_LENGTH} characters")
            self._not_blocked(persona)
        except BadAction as error:
            return refused(error)
        update = inline_query_update(self.updates.next_id(), self._user(persona), query)
        query_id = update["inline_query"]["id"]
        self._inline_queries[query_id] = persona.id
        self.updates.push(update)
        return JSONResponse({"ok": True, "query_id": query_id})

    async def _choose(self, request: Request) -> Response:
        """The persona picks a result: Telegram sends its message in their name, via the
        bot, and the bot gets it as any message in its chat."""
        try:
            body = await json_body(request)
            persona = persona_of(body)
            query_id, result_id = body.get("query_id"), body.get("result_id")
            if self._inline_queries.get(str(query_id)) != persona.id:
                raise BadAction("no such inline query of this persona")
            self._not_blocked(persona)
            try:
                message = self.api.receive_via_bot(
                    self._user(persona), str(query_id), str(result_id)
                )
            except KeyError:
                raise BadAction("the bot's answer has no such result") from None
        except BadAction as error:
            return refused(error)
        self.updates.push(message_update(self.updates.next_id(), message))
        return JSONResponse({"ok": True})

    async def _web_app(self, request: Request) -> Response:
        """The persona opens a Mini App the bot offered them (their menu button's, or a
        button's on a message in their chat): its address with initData signed for them
        now, as Telegram's app opens it."""
        try:
            body = await json_body(request)
            persona = persona_of(body)
            url = body.get("url")
            if not isinstance(url, str) or url not in offered_web_apps(self.api, persona.id):
                raise BadAction("the bot offered this persona no such Mini App")
        except BadAction as error:
            return refused(error)
        return JSONResponse({"ok": True, "url": launch_url(url, self.token, self._user(persona))})

    def _menu(self, persona_id: int) -> list[dict[str, str]]:
        """The command menu the persona's Telegram app shows, in its language."""
        return self.api.menus.menu_for(persona_id, self._languages[persona_id])

    def _user(self, persona: sample_shop.Persona) -> dict[str, Any]:
        """The persona as Telegram names them in an update: with their app's language."""
        return persona.as_user() | {"language_code": self._languages[persona.id]}

    def _not_blocked(self, persona: sample_shop.Persona) -> None:
        if persona.id in self.api.blocked:
            raise BadAction("you blocked the bot: unblock it to write to it")

    async def _file(self, request: Request) -> Response:
        """A photo or document sent to a chat: a photo as the image it is, a document as
        a download under its name (never shown in the page, whatever its type)."""
        stored = self.api.file(request.path_params["file_id"])
        if stored is None:
            return JSONResponse({"error": "no such file"}, status_code=404)
        return file_response(stored)

    async def _events(self, _: Request) -> Response:
        return StreamingResponse(self._stream(), media_type="text/event-stream")

    async def _stream(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event is None:
                    return
                yield f"data: {json.dumps(event)}\n\n"
        finally:
            self._listeners.discard(queue)

    # What the bot did

    def _on_bot_api_event(self, kind: str, subject: Any) -> None:
        if kind == "message":
            chat_id = subject["chat"]["id"]
            self._publish(
                {"kind": "message", "chat_id": chat_id, "message": shown_message(subject)}
            )
        elif kind == "call":
            self._publish({"kind": "call", "call": self._call(subject)})
            if subject.method == "answerInlineQuery" and subject.error_code is None:
                self._publish_inline_answer(subject)

    def _publish_inline_answer(self, request: SentRequest) -> None:
        """The results of a persona's inline query, for them to pick one."""
        query_id = str(request.params.get("inline_query_id"))
        self._publish(
            {
                "kind": "inline",
                "chat_id": self._inline_queries.get(query_id),
                "query_id": query_id,
                "results": shown_inline_results(request.params),
            }
        )

    def _call(self, request: SentRequest) -> dict[str, Any]:
        chat_id = request.chat_id
        if request.method == "answerCallbackQuery":
            chat_id = self._query_chats.get(str(request.params.get("callback_query_id")))
        elif request.method == "answerInlineQuery":
            chat_id = self._inline_queries.get(str(request.params.get("inline_query_id")))
        return shown_call(request, chat_id)

    def _publish(self, event: dict[str, Any]) -> None:
        for listener in self._listeners:
            with contextlib.suppress(asyncio.QueueFull):
                listener.put_nowait(event)
