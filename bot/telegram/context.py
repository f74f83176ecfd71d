"""The handlers' context: PTB's, plus typed access to our services."""

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import Services
from bot.telegram.notifications import RestockNotifier

SERVICES = "services"
NOTIFIER = "notifier"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        services: Services = self.bot_data[SERVICES]
        return services

    @property
    def notifier(self) -> RestockNotifier:
        notifier: RestockNotifier = self.bot_data[NOTIFIER]
        return notifier


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
