"""What a log line is about (the update, its user, the handler), for JSON logs.

Set by the Telegram layer while it handles an update; each update runs in its own task,
so each sees only its own values. Kept here, free of Telegram types, so that logging
needs nothing from the Telegram layer.
"""

import logging
from contextvars import ContextVar

update_id: ContextVar[int | None] = ContextVar("update_id", default=None)
user_id: ContextVar[int | None] = ContextVar("user_id", default=None)
handler: ContextVar[str | None] = ContextVar("handler", default=None)


class UpdateContextFilter(logging.Filter):
    """Adds update_id, user_id and handler to a record, where there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in (
            ("update_id", update_id),
            ("user_id", user_id),
            ("handler", handler),
        ):
            value = variable.get()
            if value is not None:
                setattr(record, name, value)
        return True
