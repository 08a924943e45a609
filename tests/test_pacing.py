"""The sender's pacing, on a virtual clock: never more than L in any second, at least 0.95 L,
evenly spread, per-chat limits, and pauses for 429s."""

from __future__ import annotations

import bisect
import itertools

import pytest

from bot.alerts.pacing import ChatPacer, Pacer


class VirtualTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Timers fire a little late, as real ones do.
        self.now += seconds + 0.0002


def max_in_window(times: list[float]) -> int:
    return max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


@pytest.mark.parametrize("rate", [1, 25, 30, 1000])
async def test_never_above_the_rate_and_close_to_it(rate: int) -> None:
    vt = VirtualTime()
    pacer = Pacer(rate, vt.clock, vt.sleep)
    times = []
    for _ in range(rate * 5 + 1):
        await pacer.acquire()
        times.append(vt.now)
        vt.now += 0.00005  # the work of one send
        pacer.sent()
    assert max_in_window(times) <= rate
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert achieved >= 0.95 * rate


async def test_low_rates_never_burst() -> None:
    vt = VirtualTime()
    pacer = Pacer(30, vt.clock, vt.sleep)
    times = []
    for _ in range(100):
        await pacer.acquire()
        times.append(vt.now)
        vt.now += 0.005
        pacer.sent()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.9 / 30


async def test_a_pause_holds_every_send() -> None:
    vt = VirtualTime()
    pacer = Pacer(30, vt.clock, vt.sleep)
    await pacer.acquire()
    pacer.sent()
    pacer.pause(2.0)
    started = vt.now
    await pacer.acquire()
    assert vt.now - started >= 2.0


def test_chat_limits() -> None:
    vt = VirtualTime()
    chats = ChatPacer(vt.clock)
    chats.sent(1)
    assert chats.ready_at(1, "private") == pytest.approx(vt.now + 1.0)
    assert chats.ready_at(2, "private") == 0.0
    for _ in range(20):
        chats.sent(-5)
        vt.now += 0.1
    assert chats.ready_at(-5, "group") > vt.now  # the 21st within a minute must wait
    vt.now += 60
    assert chats.ready_at(-5, "channel") <= vt.now


async def test_no_slot_while_the_last_message_is_not_on_the_wire() -> None:
    vt = VirtualTime()
    pacer = Pacer(30, vt.clock, vt.sleep)
    await pacer.acquire()
    held_up = 0.2  # the loop was busy: the message reaches the wire late
    vt.now += held_up
    pacer.sent()
    await pacer.acquire()
    assert vt.now - 1000.0 >= held_up + 0.75 * pacer.interval
