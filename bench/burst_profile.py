"""The bot run under cProfile during the burst only (bench/burst.py --profile FILE):
SIGUSR1 starts counting, SIGUSR2 stops and writes the statistics to FILE, and the garbage
collector's passes meanwhile to FILE.gc.json. Counts CPU time (time.process_time), so the
machine's other load does not inflate what a call costs.

    python -m bench.burst_profile FILE   (then as `python -m bot run`)
"""

import cProfile
import gc
import json
import runpy
import signal
import sys
import time
from types import FrameType


def main(path: str) -> None:
    profile = cProfile.Profile(time.process_time)
    # The garbage collector's passes meanwhile, by generation: how many, CPU seconds.
    collections = {generation: [0, 0.0] for generation in range(3)}
    started: list[float] = []

    def collecting(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.process_time()]
        elif started:
            counted = collections[info["generation"]]
            counted[0] += 1
            counted[1] += time.process_time() - started[0]

    def start(_: int, __: FrameType | None) -> None:
        gc.callbacks.append(collecting)
        profile.enable()

    def stop(_: int, __: FrameType | None) -> None:
        profile.disable()
        gc.callbacks.remove(collecting)
        profile.dump_stats(path)
        with open(f"{path}.gc.json", "w") as written:
            json.dump({"objects": len(gc.get_objects()), "collections": collections}, written)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["bot", "run"]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1])
