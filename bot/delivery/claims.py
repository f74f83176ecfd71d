"""A claimed batch's deadlines: the outbox leases the rows it hands out, and once the
lease ends another process may take them, so a row is ours to send and record only for
a while."""

from dataclasses import dataclass
from datetime import timedelta

from bot.delivery.pacing import loop_time

# Margin kept before a lease ends: past it, a claimed row is no longer ours to send.
LEASE_MARGIN_SECONDS = 1.0


@dataclass(frozen=True)
class Claim:
    """A claimed batch's deadlines, in event-loop time."""

    send_by: float  # a send not started by then is given back
    record_by: float  # an outcome not written by then is left to the lease's end

    @classmethod
    def starting_now(cls, lease: timedelta) -> "Claim":
        """Deadlines for rows about to be claimed: taken before the database's lease
        starts, so they are never later than it."""
        seconds = lease.total_seconds()
        now = loop_time()
        return cls(send_by=now + seconds / 2, record_by=now + seconds - LEASE_MARGIN_SECONDS)
