"""Rate limits the sender keeps to itself, so that Telegram never has to answer 429.

`Pacer` spaces sends evenly at `rate` a second and never lets more than `rate` fall in any
sliding second. `ChatPacer` keeps each chat under Telegram's per-chat limits: about one message
a second to a private chat, twenty a minute to a group or channel.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

# A little more than a second: requests reach Telegram with some jitter, and a second counted
# there must still hold no more than `rate` messages (with 1.02 s, one second of a 340-second broadcast held
# 31 at 30/s). The cost is 4 % of the rate.
WINDOW = 1.04


# Two messages never leave closer than this share of a slot, whatever delays came between.
MIN_GAP = 0.75


class Pacer:
    def __init__(
        self,
        rate: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._sleep = sleep
        # Slots as far apart as the window allows, so that sends are spread evenly and the
        # sliding-window check is only a backstop: slots spaced at 1/rate ran ahead of the
        # window, then waited for it and left in bursts that arrive bunched.
        self.interval = WINDOW / rate
        # A sender that woke late (timers are coarse at 1000/s) may take a few slots at once
        # to keep its average; below 200 a second it never bursts: a burst makes the window
        # the binding limit, and every second then ends in a wait and another burst.
        self.catch_up = rate // 200
        self._clock = clock
        self._sent: deque[float] = deque()
        self._next_slot: float | None = None
        self._last_sent = float("-inf")
        self._unsent = 0  # messages given a slot that have not reached the wire yet
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (a 429's retry_after)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def acquire(self) -> None:
        if self._next_slot is None:
            self._next_slot = self._clock()
        while True:
            now = self._clock()
            while self._sent and self._sent[0] <= now - WINDOW:
                self._sent.popleft()
            wait = max(self._paused_until - now, self._next_slot - now)
            if self.catch_up == 0:
                # Spaced from when the last message really went out: if the loop was held up
                # between a slot and its send, the next one must not follow it closely, and
                # none goes while the previous one is still on its way to the wire.
                wait = max(wait, self._last_sent + MIN_GAP * self.interval - now)
                if self._unsent > 0 and wait <= 0:
                    wait = 0.0005
            if len(self._sent) >= self.rate:
                wait = max(wait, self._sent[0] + WINDOW - now)
            if wait <= 0:
                break
            await self._sleep(wait)
        self._sent.append(now)
        self._unsent += 1
        # The next slot is one interval after this one. Timers fire late; up to half a slot of
        # lateness is absorbed so that it does not add up, and a sender running later still may
        # keep `catch_up` slots of its backlog (none at low rates), never more.
        tolerance = max(self.catch_up, 0.5) * self.interval
        self._next_slot = max(self._next_slot, now - tolerance) + self.interval

    def sent(self, at: float | None = None) -> None:
        """A message reached the wire now (after its slot, maybe late), or failed before it."""
        self._last_sent = self._clock() if at is None else at
        self._unsent = max(0, self._unsent - 1)


class ChatPacer:
    PRIVATE_GAP = 1.0
    GROUP_PER_MINUTE = 20

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # Ordered by last send, oldest first, so that forgetting idle chats costs only them.
        self._history: OrderedDict[int, deque[float]] = OrderedDict()

    def ready_at(self, chat_id: int, chat_type: str) -> float:
        """When the next message to this chat may go (now or later)."""
        history = self._history.get(chat_id)
        if not history:
            return 0.0
        if chat_type == "private":
            return history[-1] + self.PRIVATE_GAP
        if len(history) < self.GROUP_PER_MINUTE:
            return 0.0
        return history[-self.GROUP_PER_MINUTE] + 60.0

    def sent_times(self, chat_id: int) -> tuple[float, ...]:
        """When the last messages to this chat were let go, on this pacer's clock, oldest first.

        At most `GROUP_PER_MINUTE` of them, and none once the chat is forgotten as idle: these are
        the pacer's own decisions, which tests check instead of arrival times (those bunch on a
        busy machine).
        """
        return tuple(self._history.get(chat_id, ()))

    def sent(self, chat_id: int) -> None:
        """A message to this chat is let go now."""
        history = self._history.get(chat_id)
        if history is None:
            history = self._history[chat_id] = deque()
        else:
            self._history.move_to_end(chat_id)
        history.append(self._clock())
        while len(history) > self.GROUP_PER_MINUTE:
            history.popleft()

    def forget_idle(self) -> None:
        """Drop chats not written to for a minute, so memory stays flat over a long run."""
        horizon = self._clock() - 60.0
        while self._history:
            chat_id, history = next(iter(self._history.items()))
            if history[-1] >= horizon:
                break
            del self._history[chat_id]
