"""The handlers' context: PTB's, plus typed access to our services and dispatcher."""

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.delivery.dispatcher import Dispatcher
from bot.services import Services

SERVICES = "services"
DISPATCHER = "dispatcher"


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        services: Services = self.bot_data[SERVICES]
        return services

    @property
    def dispatcher(self) -> Dispatcher:
        dispatcher: Dispatcher = self.bot_data[DISPATCHER]
        return dispatcher


BotApplication = Application[
    ExtBot[Any], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
