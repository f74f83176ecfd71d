"""Run the benchmarks: `python3 dev.py bench [--readers N] [--runs N] [--waiting N]
[--books N] [--search-runs N]`;
`python3 dev.py bench burst [--readers N] [--seconds S] [--runs N] [--before COMMIT]
[--profile FILE]` for the burst (bench/burst.py);
`python3 dev.py bench outage [--readers N] [--minutes M]` for an outage (bench/outage.py);
`python3 dev.py bench holds [--waiting N] [--runs N] [--holds N]` for holds (bench/holds.py).
`python3 dev.py bench paused [--reservations N] [--paused N] [--runs N] [--before COMMIT]`
for a hold_in_line restock when half the line is paused (bench/paused_line.py).
`python3 dev.py bench webhook [--updates N]` for webhook mode's own cost (bench/webhook.py).
`python3 dev.py bench scale …` for several processes, paid broadcasts, the restock's cost.
`python3 dev.py bench languages [--waiting N] [--runs N]` for a restock in three languages.
`python3 dev.py bench places [--waiting N] [--runs N] [--send-seconds S]` for place updates.
`python3 dev.py bench order [--readers N] [--runs N]` for /order of a special request.
`python3 dev.py bench restock [--waiting N] [--runs N] [--rounds N] [--before COMMIT]` for
the notify_all restock's transaction alone, and where its time goes (bench/restock.py).
`python3 dev.py bench first-screen [--runs N] [--books N] [--width PX]` for the Mini App's
first screen in headless Chromium on the playground (bench/mini_app_first_screen.py).

Prints a Markdown report (medians, with every run) for docs/benchmarks.md.
"""

import argparse
import asyncio
import math
import os
import platform
import statistics
import sys
from dataclasses import fields

from bench import (
    burst,
    holds,
    languages,
    mini_app_first_screen,
    order,
    outage,
    paused_line,
    place_updates,
    restock,
    scale,
    webhook,
)
from bench.broadcast import VARIANTS, BroadcastResult, run_broadcast
from bench.restock import time_restocks
from bench.search import search_report
from bench.setup import database_server, fresh_database


async def main() -> None:
    if sys.argv[1:2] == ["outage"]:
        await outage.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["languages"]:
        await languages.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["places"]:
        await place_updates.main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(prog="python3 dev.py bench")
    parser.add_argument("--readers", type=int, default=1000, help="readers in the broadcast")
    parser.add_argument("--runs", type=int, default=3, help="runs of each variant")
    parser.add_argument("--waiting", type=int, default=100_000, help="readers for the restock")
    parser.add_argument("--books", type=int, default=100_000, help="books for the search")
    parser.add_argument("--search-runs", type=int, default=50, help="runs of each search")
    options = parser.parse_args()
    os.environ.setdefault("PTB_TIMEDELTA", "1")

    with database_server() as server_url:
        results: dict[str, list[BroadcastResult]] = {variant: [] for variant in VARIANTS}
        for run in range(options.runs):
            for variant in VARIANTS:  # alternate, so drift hits both alike
                result = await run_broadcast(server_url, variant, options.readers)
                results[variant].append(result)
                print(f"run {run + 1} {variant}: {result}", flush=True)
        async with fresh_database(server_url) as (_, engine):
            restocks = await time_restocks(engine, options.waiting, max(options.runs, 5))
        searches = await search_report(server_url, options.books, options.search_runs)
    print()
    print(report(options, results, restocks))
    print()
    print(searches)


def report(
    options: argparse.Namespace, results: dict[str, list[BroadcastResult]], restocks: list[float]
) -> str:
    floor = options.readers / 30
    lines = [
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Command: `python3 dev.py bench --readers "
        f"{options.readers} --runs {options.runs} --waiting {options.waiting}`.",
        "",
        f"Broadcast to {options.readers} waiting readers, fake Bot API enforcing 30 messages/s "
        f"overall and 1/s per chat (floor {floor:.1f} s). Medians of {options.runs} runs:",
        "",
        "| | outbox + dispatcher | naive loop in the handler |",
        "| --- | --- | --- |",
    ]
    labels = {
        "last_message_seconds": "last message arrived after (s)",
        "admin_reply_seconds": "admin's reply after (s)",
        "responses_429": "429 responses",
        "lost": "readers never messaged",
        "duplicated": "messages sent twice",
        "peak_rss_mib": "bot's peak memory (MiB)",
    }
    for field in fields(BroadcastResult):
        if field.name not in labels:
            continue
        cells = []
        for variant in ("outbox", "naive"):
            values = [getattr(result, field.name) for result in results[variant]]
            runs = ", ".join(_number(value) for value in values)
            cells.append(f"**{_number(statistics.median(values))}** ({runs})")
        lines.append(f"| {labels[field.name]} | {cells[0]} | {cells[1]} |")
    outbox_last = statistics.median(r.last_message_seconds for r in results["outbox"])
    lines += [
        "",
        f"Outbox: {100 * (outbox_last / floor - 1):+.1f} % against the {floor:.1f} s floor.",
        "",
        f"Restock transaction alone, {options.waiting:,} waiting reservations of one book "
        f"(stock 0 → 5: UPDATE … RETURNING, outbox INSERT … SELECT, commit): median "
        f"**{statistics.median(restocks):.2f} s** "
        f"({', '.join(f'{t:.2f}' for t in restocks)}).",
    ]
    return "\n".join(lines)


def _number(value: float) -> str:
    if value == math.inf:
        return "never (429)"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    if sys.argv[1:2] == ["burst"]:
        asyncio.run(burst.main(sys.argv[2:]))
    elif sys.argv[1:2] == ["holds"]:
        asyncio.run(holds.main(sys.argv[2:]))
    elif sys.argv[1:2] == ["paused"]:
        asyncio.run(paused_line.main(sys.argv[2:]))
    elif sys.argv[1:2] == ["webhook"]:
        asyncio.run(webhook.main(sys.argv[2:]))
    elif sys.argv[1:2] == ["scale"]:
        asyncio.run(scale.main(sys.argv[2:]))
    elif sys.argv[1:2] == ["restock"]:
        asyncio.run(restock.main(sys.argv[2:]))
    elif sys.argv[1:2] == ["order"]:
        asyncio.run(order.main(sys.argv[2:]))
    elif sys.argv[1:2] == ["first-screen"]:
        asyncio.run(mini_app_first_screen.main(sys.argv[2:]))
    else:
        asyncio.run(main())
