"""Rate limits the sender keeps to itself, so that Telegram never has to answer 429.

`Pacer` spaces sends evenly at `rate` a second and never lets more than `rate` fall in any
sliding second. `ChatPacer` keeps each chat under Telegram's per-chat limits: about one message
a second to a private chat, twenty a minute to a group or channel.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable

# A little more than a second: requests reach Telegram with some jitter (measured against the
# emulator under load: bursts bunched by up to ~30 ms), and a second counted there must still
# hold no more than `rate` messages. The cost is 4 % of the rate.
WINDOW = 1.04
CATCH_UP = 4  # slots a late sender may take at once to keep the average rate


class Pacer:
    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.interval = 1.0 / rate
        self._clock = clock
        self._sent: deque[float] = deque()
        self._next_slot = 0.0
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (a 429's retry_after)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def acquire(self) -> None:
        while True:
            now = self._clock()
            while self._sent and self._sent[0] <= now - WINDOW:
                self._sent.popleft()
            wait = max(self._paused_until - now, self._next_slot - now)
            if len(self._sent) >= self.rate:
                wait = max(wait, self._sent[0] + WINDOW - now)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self._sent.append(now)
        # Slots follow one another at `interval`; a sender that woke late may catch up a few.
        self._next_slot = max(self._next_slot + self.interval, now - CATCH_UP * self.interval)


class ChatPacer:
    PRIVATE_GAP = 1.0
    GROUP_PER_MINUTE = 20

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._history: defaultdict[int, deque[float]] = defaultdict(deque)

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

    def sent(self, chat_id: int) -> None:
        history = self._history[chat_id]
        history.append(self._clock())
        while len(history) > self.GROUP_PER_MINUTE:
            history.popleft()

    def forget_idle(self) -> None:
        """Drop chats not written to for a minute, so memory stays flat over a long run."""
        horizon = self._clock() - 60.0
        for chat_id in [c for c, h in self._history.items() if h[-1] < horizon]:
            del self._history[chat_id]
