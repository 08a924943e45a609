"""The pacers' decisions on an injected clock: exact limits, edges and pauses, no wall clock.

tests/test_pacing.py checks the rates a long run achieves; these pin each rule at its edge
(Telegram's limits: about one message a second to a private chat, twenty a minute to a group
or channel, and a 429's retry_after for every send), so that an off-by-one in a limit fails.
"""

from __future__ import annotations

import bisect
import itertools

import pytest

from bot.alerts.pacing import MIN_GAP, WINDOW, ChatPacer, Pacer


class Clock:
    """A clock that moves only when told, and a sleep that moves it (and logs each wait)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# -- one chat -------------------------------------------------------------------------------


def test_a_private_chat_waits_exactly_one_second_after_its_last_message() -> None:
    clock = Clock()
    chats = ChatPacer(clock)
    assert chats.ready_at(1, "private") == 0.0  # never written to: now
    chats.sent(1)
    clock.now += 0.4
    chats.sent(1)  # the sender decided to send again: the gap counts from this one
    assert chats.ready_at(1, "private") == clock.now + 1.0
    assert chats.ready_at(2, "private") == 0.0  # other chats are not held
    assert chats.sent_times(1) == (1000.0, 1000.4)
    assert chats.sent_times(2) == ()


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
def test_a_group_takes_twenty_a_minute_then_waits_for_the_oldest_to_age(chat_type: str) -> None:
    clock = Clock()
    chats = ChatPacer(clock)
    for n in range(19):
        chats.sent(-5)
        clock.now += 1.0
        assert chats.ready_at(-5, chat_type) == 0.0, f"after {n + 1}"
    chats.sent(-5)  # the twentieth, at 1019
    assert chats.ready_at(-5, chat_type) == 1000.0 + 60.0
    clock.now = 1060.0
    chats.sent(-5)  # the 21st, when the first is a minute old
    assert chats.ready_at(-5, chat_type) == 1001.0 + 60.0
    assert len(chats.sent_times(-5)) == ChatPacer.GROUP_PER_MINUTE
    # A group's limit is not a private chat's: a group is never held a second per message.
    other = ChatPacer(clock)
    other.sent(-6)
    assert other.ready_at(-6, chat_type) == 0.0


def test_idle_chats_are_forgotten_after_a_minute_and_busy_ones_kept() -> None:
    clock = Clock()
    chats = ChatPacer(clock)
    chats.sent(1)  # 1000
    clock.now = 1010.0
    chats.sent(2)  # 1010
    clock.now = 1020.0
    chats.sent(1)  # 1020: chat 1 is now the most recent
    clock.now = 1070.0  # horizon 1010: chat 2 is exactly a minute idle, kept
    chats.forget_idle()
    assert chats.sent_times(2) == (1010.0,)
    clock.now = 1075.0  # horizon 1015: chat 2 goes, chat 1 (1020) stays
    chats.forget_idle()
    assert chats.sent_times(2) == () and chats.ready_at(2, "private") == 0.0
    assert chats.sent_times(1) == (1000.0, 1020.0)
    clock.now = 1081.0
    chats.forget_idle()
    assert chats.sent_times(1) == ()
    chats.forget_idle()  # nothing left: no error


# -- every chat -----------------------------------------------------------------------------


def test_the_slot_interval_and_when_a_sender_may_catch_up() -> None:
    assert Pacer(30).interval == WINDOW / 30
    assert (Pacer(30).catch_up, Pacer(199).catch_up, Pacer(200).catch_up) == (0, 0, 1)
    assert Pacer(1000).catch_up == 5
    assert Pacer(25).rate == 25


async def test_the_first_send_goes_at_once_and_the_next_one_slot_later() -> None:
    clock = Clock()
    pacer = Pacer(25, clock, clock.sleep)
    await pacer.acquire()
    assert clock.sleeps == [] and clock.now == 1000.0
    pacer.sent()
    await pacer.acquire()
    assert clock.now == pytest.approx(1000.0 + WINDOW / 25)
    pacer.sent()


async def test_a_pause_holds_sends_for_retry_after_and_a_shorter_one_does_not_cut_it() -> None:
    clock = Clock()
    pacer = Pacer(30, clock, clock.sleep)
    assert pacer.paused_for == 0.0
    pacer.pause(5.0)
    pacer.pause(1.0)  # a later, shorter 429 does not shorten the wait
    assert pacer.paused_for == 5.0
    clock.now += 2.0
    assert pacer.paused_for == 3.0
    await pacer.acquire()
    assert clock.now == 1005.0
    clock.now += 10.0
    assert pacer.paused_for == 0.0  # never negative


async def test_no_second_send_while_the_first_is_not_on_the_wire() -> None:
    clock = Clock()

    async def wire_after_two_waits(seconds: float) -> None:
        await clock.sleep(seconds)
        if len(clock.sleeps) == 2:
            pacer.sent()  # the first message reaches the wire now

    pacer = Pacer(30, clock, wire_after_two_waits)
    await pacer.acquire()
    clock.now += 5.0  # long after its slot, but the message has not reached the wire
    await pacer.acquire()
    assert clock.sleeps[:2] == [0.0005, 0.0005]
    # Then it keeps the minimum gap from when the first one really left.
    assert clock.now >= 1005.001 + MIN_GAP * pacer.interval - 1e-9


async def test_a_late_sender_keeps_at_most_catch_up_slots_of_backlog() -> None:
    clock = Clock()
    pacer = Pacer(1000, clock, clock.sleep)
    await pacer.acquire()
    pacer.sent()
    clock.now += 1.0  # the loop was held up for a second: 1000 slots went by
    sent_at = []
    for _ in range(10):
        await pacer.acquire()
        sent_at.append(clock.now)
        pacer.sent()
    # Five slots (catch_up) at once at most, then one interval apart again.
    at_once = sum(1 for t in sent_at if t == sent_at[0])
    assert at_once <= pacer.catch_up + 1
    assert sent_at[-1] - sent_at[0] >= (10 - pacer.catch_up - 1) * pacer.interval - 1e-9


async def test_the_sliding_window_holds_after_a_late_sender_caught_up() -> None:
    """A late sender takes two slots at MIN_GAP to catch up; the window then holds the 31st
    send of a 30/s run until the first of its window is WINDOW old (the slots alone would let
    it go 0.5 slot sooner, 31 in a window)."""
    clock = Clock()
    pacer = Pacer(30, clock, clock.sleep)
    await pacer.acquire()
    pacer.sent()
    clock.now += 10 * pacer.interval  # held up for ten slots
    times = []
    for _ in range(40):
        await pacer.acquire()
        times.append(clock.now)
        pacer.sent()
    most = max(bisect.bisect_right(times, t + WINDOW - 1e-9) - i for i, t in enumerate(times))
    assert most == 30
    assert times[30] == pytest.approx(times[0] + WINDOW)


async def test_at_its_slot_a_send_still_waits_for_the_previous_one_to_reach_the_wire() -> None:
    clock = Clock()

    async def wire_on_first_wait(seconds: float) -> None:
        await clock.sleep(seconds)
        if len(clock.sleeps) == 1:
            pacer.sent()

    pacer = Pacer(30, clock, wire_on_first_wait)
    await pacer.acquire()
    clock.now = 1000.0 + pacer.interval  # exactly the next slot, the first still unsent
    await pacer.acquire()
    assert clock.sleeps[0] == 0.0005


async def test_before_its_slot_a_send_waits_for_the_slot_itself() -> None:
    clock = Clock()

    async def wire_on_first_wait(seconds: float) -> None:
        await clock.sleep(seconds)
        if len(clock.sleeps) == 1:
            pacer.sent()

    pacer = Pacer(30, clock, wire_on_first_wait)
    await pacer.acquire()
    await pacer.acquire()  # at once: the first is unsent, but the slot is the longer wait
    assert clock.sleeps[0] == pytest.approx(pacer.interval)


async def test_a_late_low_rate_sender_returns_to_even_spacing_after_two_sends() -> None:
    clock = Clock()
    pacer = Pacer(30, clock, clock.sleep)
    await pacer.acquire()
    pacer.sent()
    clock.now += 10 * pacer.interval  # held up for ten slots
    times = []
    for _ in range(6):
        await pacer.acquire()
        times.append(clock.now)
        pacer.sent()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Half a slot of lateness is absorbed (two gaps of MIN_GAP), then the slots are even again.
    assert gaps[:2] == pytest.approx([MIN_GAP * pacer.interval] * 2)
    assert gaps[2:] == pytest.approx([pacer.interval] * 3)


async def test_a_message_sent_at_a_given_time_spaces_the_next_from_then() -> None:
    clock = Clock()
    pacer = Pacer(30, clock, clock.sleep)
    await pacer.acquire()
    pacer.sent(at=1000.5)  # it reached the wire later than the clock read here
    await pacer.acquire()
    assert clock.now == pytest.approx(1000.5 + MIN_GAP * pacer.interval)


def test_a_new_pacer_is_not_paused_whatever_its_clock_reads() -> None:
    assert Pacer(30, Clock(0.0)).paused_for == 0.0
