"""The pacer keeps under Telegram's limit in every one-second window, even when the event
loop is too busy to wake its sleepers on time (timers then fire late, all at once)."""

import asyncio
import time

from bot.delivery.pacing import Pacer, loop_time

MESSAGES_PER_SECOND = 10
BUSY_SECONDS = 0.45


def most_in_one_second(times: list[float]) -> int:
    """The most turns in any one-second window (half open, as Telegram counts)."""
    times = sorted(times)
    return max(
        sum(1 for other in times[index:] if other < start + 1.0)
        for index, start in enumerate(times)
    )


async def hog_the_loop(every: float, rounds: int) -> None:
    """Block the event loop now and then, as a burst of parsing and SQL does."""
    for _ in range(rounds):
        await asyncio.sleep(every)
        time.sleep(BUSY_SECONDS)  # noqa: ASYNC251 (blocking the loop is the point)


async def test_late_timers_never_put_more_replies_in_one_second_than_allowed() -> None:
    pacer = Pacer(MESSAGES_PER_SECOND)
    granted: list[float] = []

    async def reply() -> None:
        turn = await pacer.reply_turn()
        granted.append(loop_time())
        turn.done()

    hog = asyncio.create_task(hog_the_loop(every=0.3, rounds=5))
    await asyncio.gather(*(reply() for _ in range(40)))
    await hog

    assert len(granted) == 40
    assert most_in_one_second(granted) <= MESSAGES_PER_SECOND


async def test_late_timers_never_put_more_broadcast_messages_in_one_second_than_allowed() -> None:
    pacer = Pacer(MESSAGES_PER_SECOND)
    granted: list[float] = []

    async def broadcast() -> None:
        for _ in range(40):
            assert await pacer.background_turn()
            granted.append(loop_time())

    hog = asyncio.create_task(hog_the_loop(every=0.3, rounds=5))
    await asyncio.gather(broadcast(), hog)

    assert most_in_one_second(granted) <= MESSAGES_PER_SECOND


async def test_replies_still_go_first_and_at_the_full_rate() -> None:
    pacer = Pacer(MESSAGES_PER_SECOND)
    granted: list[tuple[float, str]] = []

    async def broadcast() -> None:
        for _ in range(10):
            assert await pacer.background_turn()
            granted.append((loop_time(), "broadcast"))

    async def reply() -> None:
        turn = await pacer.reply_turn()
        granted.append((loop_time(), "reply"))
        turn.done()

    started = loop_time()
    broadcasting = asyncio.create_task(broadcast())
    await asyncio.sleep(0)
    await asyncio.gather(*(reply() for _ in range(10)))
    await broadcasting

    kinds = [kind for _, kind in sorted(granted)]
    # The broadcast's first turn was taken before the replies came; after it, the replies.
    assert kinds[1:11] == ["reply"] * 10
    # Twenty turns at ten a second: two seconds, give or take a timer's lateness.
    assert loop_time() - started < 2.3
    assert most_in_one_second([at for at, _ in granted]) <= MESSAGES_PER_SECOND


async def test_a_reply_holds_its_place_until_telegram_has_answered_it() -> None:
    """A busy process may put a message on the wire well after its turn: until Telegram
    answers, it may still arrive, so it counts in the second from then."""
    pacer = Pacer(MESSAGES_PER_SECOND)
    turns = [await pacer.reply_turn() for _ in range(MESSAGES_PER_SECOND)]
    await asyncio.sleep(0.5)  # the sends are slow to get out
    answered = loop_time()
    for turn in turns:
        turn.done()

    await pacer.reply_turn()

    assert loop_time() >= answered + 0.99
