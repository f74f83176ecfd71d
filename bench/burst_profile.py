"""The bot run under cProfile during the burst only (bench/burst.py --profile FILE):
SIGUSR1 starts counting, SIGUSR2 stops and writes the statistics to FILE. Counts CPU time
(time.process_time), so the machine's other load does not inflate what a call costs.

    python -m bench.burst_profile FILE   (then as `python -m bot run`)
"""

import cProfile
import runpy
import signal
import sys
import time
from types import FrameType


def main(path: str) -> None:
    profile = cProfile.Profile(time.process_time)

    def start(_: int, __: FrameType | None) -> None:
        profile.enable()

    def stop(_: int, __: FrameType | None) -> None:
        profile.disable()
        profile.dump_stats(path)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["bot", "run"]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1])
