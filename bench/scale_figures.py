"""What bench/scale.py measures in a broadcast run, whichever way the bot takes updates."""

import contextlib
import os
import statistics
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

from bench.broadcast import _is_good_news
from bot.playground.local_bot_api import SentRequest
from tests.chat import Person

CHATTERS = 30  # readers chatting during the broadcast, each every CHAT_SECONDS
CHAT_SECONDS = 3.0
FIRST_CHATTER_ID = 900


@dataclass(frozen=True)
class ScaleResult:
    processes: int
    paid: bool
    readers: int
    last_message_seconds: float
    replies: int
    floor_seconds: float  # (readers + replies sent meanwhile) / 30, or readers / 1000 paid
    reply_p50: float
    reply_p99: float
    responses_429: int
    lost: int
    duplicated: int
    killed_after: int = 0  # readers messaged when one process was killed (0: none was)
    unanswered: int = 0  # chat messages that got no reply
    peak_rss_mb: float = 0.0  # the largest resident memory of any bot process, sampled
    cpu_ms_per_message: float = 0.0  # the bot processes' CPU time over readers messaged


class BotProcesses:
    """Samples the bot processes' resident memory until stopped, keeping the largest, and
    counts the CPU time they spent meanwhile."""

    def __init__(self, pids: list[int], every_seconds: float = 0.1) -> None:
        self._processes = [psutil.Process(pid) for pid in pids]
        self._every = every_seconds
        self._stopped = threading.Event()
        self.peak_bytes = 0
        self.cpu_seconds = 0.0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "BotProcesses":
        self.cpu_seconds = -self._cpu()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped.set()
        self._thread.join()
        self.cpu_seconds += self._cpu()

    def _cpu(self) -> float:
        total = 0.0
        for process in self._processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20

    def _sample(self) -> None:
        while True:
            for process in self._processes:
                with contextlib.suppress(psutil.NoSuchProcess):  # one killed on purpose
                    self.peak_bytes = max(self.peak_bytes, process.memory_info().rss)
            if self._stopped.wait(self._every):
                return


def chatters() -> list[Person]:
    count = int(os.environ.get("BENCH_CHATTERS", CHATTERS))
    return [Person(FIRST_CHATTER_ID + n, f"Chatter {n}") for n in range(count)]


def chat_times(people: list[Person]) -> Iterator[tuple[float, Person]]:
    """When each reader writes, in seconds from the start: each every CHAT_SECONDS, the
    readers spread evenly over a round, as readers' messages come (not all in one
    instant: 30 at once would take Telegram's whole second, the last reply 1 s late)."""
    round_number = 0
    while True:
        for n, person in enumerate(people):
            yield (round_number + n / len(people)) * CHAT_SECONDS, person
        round_number += 1


def figures(
    requests: list[SentRequest],
    chat_ids: list[int],
    asked: dict[int, list[float]],
    started: float,
    processes: int,
    paid: bool,
    killed_after: int = 0,
    peak_rss_mb: float = 0.0,
    cpu_seconds: float = 0.0,
) -> ScaleResult:
    arrivals = [r for r in requests if _is_good_news(r)]
    last = max((r.at for r in arrivals), default=started)
    latencies: list[float] = []
    replies_meanwhile = 0
    unanswered = 0
    for chat_id, times in asked.items():
        answers = [r.at for r in requests if r.chat_id == chat_id and r.error_code is None]
        unanswered += max(0, len(times) - len(answers))
        latencies += [answer - ask for ask, answer in zip(times, answers, strict=False)]
        replies_meanwhile += len([at for at in answers if at <= last])
    counts = dict.fromkeys(chat_ids, 0)
    for request in arrivals:
        counts[int(request.chat_id or 0)] += 1
    latencies.sort()
    floor = len(chat_ids) / 1000 if paid else (len(chat_ids) + replies_meanwhile) / 30
    return ScaleResult(
        processes=processes,
        paid=paid,
        readers=len(chat_ids),
        last_message_seconds=last - started,
        replies=len(latencies),
        floor_seconds=floor,
        reply_p50=statistics.median(latencies) if latencies else 0.0,
        reply_p99=latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0.0,
        responses_429=len([r for r in requests if r.error_code == 429]),
        lost=len([count for count in counts.values() if count == 0]),
        duplicated=sum(count - 1 for count in counts.values() if count > 1),
        killed_after=killed_after,
        unanswered=unanswered,
        peak_rss_mb=peak_rss_mb,
        cpu_ms_per_message=cpu_seconds * 1000 / len(chat_ids),
    )
