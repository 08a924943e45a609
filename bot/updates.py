"""Processing Telegram updates concurrently across chats, in order within each chat.

python-telegram-bot runs updates one at a time, or (`concurrent_updates`) all at once with no
order at all: a user who sends /subscribe then /unsubscribe can end up subscribed when the
second overtakes the first. `ChatOrderedProcessor` is PTB's documented seam for this
(`BaseUpdateProcessor`, "Concurrency" in PTB's wiki): each update waits for the earlier
updates of its chat and of its user (user-level settings cross chats), then for one of the
shared slots. A chat's backlog waits without holding a slot, so a flood from one chat never
starves the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def order_keys(update: object) -> tuple[tuple[str, int], ...]:
    """The queues an update belongs to: its chat's and its user's (either may be absent)."""
    if not isinstance(update, Update):
        return ()
    keys = []
    if update.effective_chat is not None:
        keys.append(("chat", update.effective_chat.id))
    if update.effective_user is not None:
        keys.append(("user", update.effective_user.id))
    return tuple(keys)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """At most `slots` updates at once; within a chat or a user, in arrival order.

    PTB's own semaphore (its `process_update` is final) is set to `backlog`, the most updates
    in progress or waiting their turn; the `slots` limit is taken only once an update's turn
    has come, so that waiting costs no slot."""

    def __init__(self, slots: int, backlog: int = 10_000) -> None:
        super().__init__(backlog)
        self._slots = asyncio.Semaphore(slots)
        # The last update registered on each key: the next one on that key waits for it.
        self._tails: dict[tuple[str, int], asyncio.Future[None]] = {}

    @property
    def queued_keys(self) -> int:
        """How many chats and users have updates in progress or waiting."""
        return len(self._tails)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = order_keys(update)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Registered before the first suspension: PTB starts one task per update in the order
        # it received them, and its semaphore (FIFO, far from full) does not reorder them.
        earlier = {id(f): f for f in (self._tails.get(key) for key in keys) if f is not None}
        for key in keys:
            self._tails[key] = done
        started = False
        try:
            for future in earlier.values():
                await asyncio.shield(future)
            async with self._slots:
                started = True
                await coroutine
        finally:
            if not started and isinstance(coroutine, Coroutine):
                coroutine.close()  # cancelled while waiting its turn: never to run
            done.set_result(None)
            for key in keys:
                if self._tails.get(key) is done:
                    del self._tails[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
