"""Log lines written while a handler runs name the update, its user and the handler (the
extra fields of JSON logs)."""

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot import log_context
from bot.telegram.context import BotApplication

Callback = Callable[[Any, Any], Coroutine[Any, Any, Any]]


def name_handlers_in_logs(application: BotApplication) -> None:
    """Wrap every registered handler's callback to set the log context first; the error
    handler runs in the same task afterwards, so its lines carry the same fields."""
    for handlers in application.handlers.values():
        for handler in handlers:
            handler.callback = named(handler.callback)


def named(callback: Callback) -> Callback:
    name = f"{callback.__module__.rsplit('.', 1)[-1]}.{callback.__qualname__}"

    @functools.wraps(callback)
    async def with_log_context(update: Any, context: Any) -> Any:
        # Each update is handled in its own task, so these stay with this update.
        log_context.handler.set(name)
        if isinstance(update, Update):
            log_context.update_id.set(update.update_id)
            log_context.user_id.set(update.effective_user.id if update.effective_user else None)
        return await callback(update, context)

    return with_log_context
