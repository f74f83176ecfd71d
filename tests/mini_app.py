"""Signing initData as Telegram does, and the Mini App served on a free port."""

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.mini_app.routes import DEFAULT_OPTIONS, MiniAppOptions, mini_app_routes
from bot.telegram.context import BotApplication
from bot.web.server import WebServer, web_app
from tests.chat import Person
from tests.conftest import TOKEN


def signed_init_data(
    person: Person,
    token: str = TOKEN,
    auth_date: float | None = None,
    without: str | None = None,
    **extra: str,
) -> str:
    """initData as Telegram builds it (core.telegram.org/bots/webapps), written out
    here from the documentation, apart from the bot's own code."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(person.as_user(), separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(time.time() if auth_date is None else auth_date)),
        **extra,
    }
    fields.pop(without or "", None)
    data_check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret_key = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret_key, data_check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def as_header(init_data: str) -> dict[str, str]:
    return {"Authorization": f"tma {init_data}"}


def signed_as(person: Person) -> dict[str, str]:
    return as_header(signed_init_data(person))


@asynccontextmanager
async def mini_app(
    application: BotApplication, engine: AsyncEngine, options: MiniAppOptions = DEFAULT_OPTIONS
) -> AsyncIterator[httpx.AsyncClient]:
    """The bot's web server with the Mini App, on a free port; the client calls it."""
    routes = mini_app_routes(application, options)
    server = WebServer(web_app(engine, mini_app=routes), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            yield client
    finally:
        await server.stop()


def json_of(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()
