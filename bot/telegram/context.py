"""The handlers' context: PTB's, plus typed access to our services and dispatcher."""

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.delivery.dispatcher import Dispatcher
from bot.services import Services

SERVICES = "services"
DISPATCHER = "dispatcher"
# The Mini App's public address (WEB_APP_URL), or None: book cards' Open catalog button.
WEB_APP_URL = "web_app_url"


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        services: Services = self.bot_data[SERVICES]
        return services

    @property
    def web_app_url(self) -> str | None:
        url: str | None = self.bot_data.get(WEB_APP_URL)
        return url

    @property
    def dispatcher(self) -> Dispatcher:
        dispatcher: Dispatcher = self.bot_data[DISPATCHER]
        return dispatcher


BotApplication = Application[
    ExtBot[Any], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
