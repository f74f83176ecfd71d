"""Paid broadcasts' turns: many sends under way at once, every slot that comes due in a
pass of the event loop let go in that pass, and no one second of arrivals at Telegram
over the rate however long each send takes."""

import asyncio
import random
import time

from bot.delivery.pacing import loop_time
from bot.delivery.paid_pacing import PaidPacer
from tests.test_pacing import hog_the_loop, most_in_one_second

MESSAGES_PER_SECOND = 10


async def test_no_second_of_arrivals_holds_more_than_the_rate_with_many_sends_under_way() -> None:
    pacer = PaidPacer(MESSAGES_PER_SECOND)
    arrivals: list[float] = []
    under_way = 0
    most_under_way = 0
    chance = random.Random(7)

    async def send() -> None:
        nonlocal under_way, most_under_way
        turn = await pacer.background_turn()
        assert turn is not None
        under_way += 1
        most_under_way = max(most_under_way, under_way)
        # Telegram counts a message when it arrives: any time before its answer.
        answer_in = chance.uniform(0.0, 0.6)
        arrivals.append(loop_time() + chance.uniform(0.0, answer_in))
        await asyncio.sleep(answer_in)
        under_way -= 1
        turn.done()

    hog = asyncio.create_task(hog_the_loop(every=0.3, rounds=5))
    await asyncio.gather(*(send() for _ in range(60)), hog)

    assert len(arrivals) == 60
    assert most_under_way > 1
    assert most_in_one_second(arrivals) <= MESSAGES_PER_SECOND


async def test_every_slot_due_after_a_busy_pass_is_let_go_in_the_next() -> None:
    pacer = PaidPacer(1000)
    granted: list[float] = []

    async def send() -> None:
        turn = await pacer.background_turn()
        assert turn is not None
        granted.append(loop_time())
        turn.done()

    sends = [asyncio.create_task(send()) for _ in range(15)]
    await asyncio.sleep(0)  # each books its slot, 1 ms apart
    time.sleep(0.03)  # noqa: ASYNC251 (a busy pass: every slot comes due meanwhile)
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(granted) == 15
    await asyncio.gather(*sends)


async def test_a_turn_past_the_deadline_is_refused_and_a_pause_is_kept() -> None:
    pacer = PaidPacer(1000)
    pacer.pause_background(0.2)
    assert await pacer.background_turn(deadline=loop_time() + 0.1) is None
    started = loop_time()
    turn = await pacer.background_turn()
    assert turn is not None
    assert loop_time() - started >= 0.1


async def test_sends_that_timed_out_give_their_places_back() -> None:
    """A timed-out request was cut off: after its second, its place is free again (were
    it kept, each timeout would cost a message a second for the rest of the process)."""
    pacer = PaidPacer(MESSAGES_PER_SECOND)
    for _ in range(MESSAGES_PER_SECOND):
        turn = await pacer.background_turn()
        assert turn is not None
        turn.done(answered=False)
    later = await pacer.background_turn(deadline=loop_time() + 1.5)
    assert later is not None
