"""Input the Telegram layer refuses before any service sees it."""


class BadInput(Exception):
    """A command or button that cannot be understood; nothing was changed."""


class UsageError(BadInput):
    """A command with missing, extra or malformed arguments."""

    def __init__(self, command: str) -> None:
        super().__init__(command)
        self.command = command


class InvalidButton(BadInput):
    """Callback data that is stale, forged or from another version of the bot."""


class NotPrivateChat(BadInput):
    """Reservations are personal: the bot serves readers in private chats only."""


class NotADay(BadInput):
    """A day that is not written YYYY-MM-DD, or no such day (2026-02-30)."""

    def __init__(self, command: str, text: str) -> None:
        super().__init__(command, text)
        self.command = command
        self.text = text
