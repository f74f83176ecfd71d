"""Giving up messages not delivered within max_age, however long Telegram was away: the
only way a message fails for its age rather than for Telegram's refusal."""

import logging
from datetime import timedelta

from bot.delivery.pacing import loop_time
from bot.notifications.outbox import Outbox

logger = logging.getLogger(__name__)

# How often to look for messages older than max_age.
EXPIRY_CHECK_SECONDS = 60.0


class OldMessages:
    def __init__(self, outbox: Outbox, max_age: timedelta) -> None:
        self._outbox = outbox
        self._max_age = max_age
        self._next_check = 0.0

    async def give_up_if_due(self) -> None:
        """Look for them, unless that was done within EXPIRY_CHECK_SECONDS."""
        if loop_time() < self._next_check:
            return
        self._next_check = loop_time() + EXPIRY_CHECK_SECONDS
        given_up = await self._outbox.give_up_older_than(self._max_age)
        if given_up:
            logger.warning("Gave up %d notifications older than %s", given_up, self._max_age)
