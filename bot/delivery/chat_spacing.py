"""One message a second to any one chat, among this process's own sends (the shared flood
budget keeps the rule across processes): a message whose chat must wait is given back to
the outbox rather than hold a sending place."""

import math

from bot.delivery.flood_limits import PER_CHAT_INTERVAL
from bot.delivery.pacing import loop_time


class ChatSpacing:
    def __init__(self) -> None:
        self._free_at: dict[int, float] = {}

    def wait(self, chat_id: int) -> float:
        """Seconds until the chat may have another message (none to wait: zero or less)."""
        return self._free_at.get(chat_id, 0.0) - loop_time()

    def sending(self, chat_id: int) -> None:
        """A send to the chat starts: it is busy until the send is done."""
        self._free_at[chat_id] = math.inf

    def sent(self, chat_id: int) -> None:
        """The send is over, whatever came of it."""
        self._free_at[chat_id] = loop_time() + PER_CHAT_INTERVAL

    def forget_idle(self) -> None:
        now = loop_time()
        self._free_at = {chat: free_at for chat, free_at in self._free_at.items() if free_at > now}


def look_again_in(wait: float) -> float:
    """When a message given back for its busy chat is due again: once the chat is free,
    and at most a second from now (a send still under way has no known end)."""
    return min(wait, PER_CHAT_INTERVAL)
