"""SIGTERM and SIGINT while backup or restore runs their programs: said in one line, once
the programs are stopped and their files removed, rather than a silent death or a
KeyboardInterrupt's traceback."""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """SIGTERM or SIGINT. A BaseException, as KeyboardInterrupt is: nothing on its way may
    take it for an error of its own."""


class Interruption:
    """SIGTERM and SIGINT while the block runs: Stopped at once until committing is set;
    after that, noted, for the work to end first. Only the first counts, so that the
    clean-up is not cut short."""

    def __init__(self) -> None:
        self.committing = False
        self.received: str | None = None

    def handle(self, number: int, _: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.Signals(number).name
            if not self.committing:
                raise Stopped(self.received)

    @contextmanager
    def handled(self) -> Iterator[None]:
        previous = {number: signal.signal(number, self.handle) for number in STOPPING_SIGNALS}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
