"""The line's loop: the hold sweeper's pass, then each of the line's own steps (resuming
paused reservations, lapsing those no longer needed, telling readers their new places).

Run by the hold expiry loop (bot/holds/expiry.py) in its place, so one loop per process,
driven by the database alone, does all the line's timed work: each step claims what is
due in its own transaction, skipping what another process holds, and after a crash or a
restart the next pass finds what is still due. A step that fails is logged and left for
the next pass; the others still run (one step's bug must not stop holds expiring).
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from bot.holds.expiry import HoldSweeper
from bot.holds.schemas import SweepReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepReport:
    done: int
    more: bool = False  # a full batch: more may be due at once


class LineStep(Protocol):
    async def run(self) -> StepReport:
        """Do one batch of what is due, in one transaction."""
        ...


class LineUpkeep:
    def __init__(self, holds: HoldSweeper, steps: Mapping[str, LineStep]) -> None:
        self._holds = holds
        self._steps = steps  # by what their count means in the log ("resumed", …)

    async def sweep(self) -> SweepReport:
        try:
            report = await self._holds.sweep()
        except Exception:
            logger.exception("The holds' pass failed; trying again shortly")
            report = SweepReport(0, 0, 0)
        done: dict[str, int] = {}
        more = report.more
        for name, step in self._steps.items():
            try:
                step_report = await step.run()
            except Exception:
                logger.exception("The line's step %r failed; trying again shortly", name)
                continue
            done[name] = step_report.done
            more = more or step_report.more
        return replace(report, more=more, line=done)
