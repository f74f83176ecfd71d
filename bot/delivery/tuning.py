"""The dispatcher's settings, which the command line and the tests choose."""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class DispatcherTuning:
    """How often to look, how long a claim lasts, how many sends at once, how to probe
    Telegram while it is unreachable, when to give a message up."""

    poll_interval: float = 2.0
    lease: timedelta = timedelta(seconds=30)
    max_in_flight: int = 8
    first_probe_delay: float = 1.0
    # Under a minute, so that delivery resumes within a minute of Telegram's return.
    max_probe_delay: float = 50.0
    max_age: timedelta = timedelta(days=3)
    # Paid broadcasts (allow_paid_broadcast): Telegram lets a bot send up to 1000
    # messages a second, charging Stars for those beyond the free limit.
    paid_broadcast: bool = False
    paid_messages_per_second: float = 1000.0
    # Enough sends under way to keep up the paid rate while each waits for its answer.
    paid_max_in_flight: int = 100
