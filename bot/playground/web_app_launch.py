"""Opening a Mini App as Telegram's app does: its address with the launch parameters in
the fragment, initData signed with the bot's token (core.telegram.org/bots/webapps)."""

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from bot.playground.local_bot_api import LocalBotApi

# Telegram's light theme, as its apps pass it (tgWebAppThemeParams).
THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}
VERSION = "7.0"


def init_data(token: str, user: dict[str, Any], now: float | None = None) -> str:
    """initData for this user, now, signed as Telegram signs it for the bot with token:
    HMAC-SHA256 of the sorted fields under a key derived from the token."""
    fields = {
        "query_id": secrets.token_urlsafe(12),
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(time.time() if now is None else now)),
    }
    check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret_key = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret_key, check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def launch_url(url: str, token: str, user: dict[str, Any]) -> str:
    """The address the Mini App's panel opens: url, its launch parameters in the fragment."""
    fragment = urlencode(
        {
            "tgWebAppData": init_data(token, user),
            "tgWebAppThemeParams": json.dumps(THEME, separators=(",", ":")),
            "tgWebAppVersion": VERSION,
            "tgWebAppPlatform": "web",
        }
    )
    return f"{url.split('#')[0]}#{fragment}"


def offered_web_apps(api: LocalBotApi, chat_id: int) -> set[str]:
    """The Mini Apps' addresses the bot gave this chat: on its messages' buttons, and its
    menu button's."""
    urls = {
        str(button["web_app"]["url"])
        for message in api.messages_in(chat_id)
        for row in message.get("reply_markup", {}).get("inline_keyboard", [])
        for button in row
        if isinstance(button.get("web_app"), dict)
    }
    menu_button = api.menus.button_for(chat_id)
    if menu_button.get("type") == "web_app":
        urls.add(str(menu_button["web_app"]["url"]))
    return urls
