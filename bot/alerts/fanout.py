"""The fan-out walker: writes the rest of each alert's deliveries, batch after batch.

A poll writes an alert's first batch in its own transaction (storage/fanout.py); this task,
beside the sender in the leader, walks the rest of large audiences in short transactions, so
that commands' writes (a /subscribe, a settings change) wait at most one batch, never a whole
audience. It wakes the sender after each batch, so the first chats get the alert while the
last are still being written, and at start it carries on with any fan-out a crash or a dead
leader left unfinished.

In a fleet (bot.fleet) it is one of the leader's duties, fenced like the sender's claims: a
batch is written only while its worker holds the leader lease, so that two walkers never
apply the one-alert-per-story rule at the same time (each would miss the other's uncommitted
rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.alerts.watcher import local_minute
from storage import Database, StorageError, fanout

log = logging.getLogger(__name__)
# After a failed batch (a full disk, a locked file), the walker tries again this much later.
RETRY_S = 5.0
# Without a wake, the walker looks for unfinished fan-outs this often: those whose first batch
# another worker's poll wrote (bot.sharing). An audience past one batch waits this long more.
LOOK_EVERY_S = 1.0


class NotLeading(Exception):
    """The walker's worker no longer leads (or another walker took the batch): it stops."""


class FanOutWalker:
    """Walks unfinished fan-outs until none is left; `wake()` when a poll has started one."""

    def __init__(
        self,
        db: Database,
        zone: ZoneInfo,
        wake_sender: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int | None = None,
        retry_s: float = RETRY_S,
        worker: str | None = None,
        fence: Callable[[], bool] | None = None,
        look_every: float = LOOK_EVERY_S,
    ) -> None:
        """`worker` and `fence`: with them (the fleet's leader, bot.fleet), a batch is walked
        only while `fence()` is true and `worker` holds the leader lease in the database."""
        self.db = db
        self.retry_s = retry_s
        self.zone = zone
        self.wake_sender = wake_sender
        self.clock = clock
        self.batch = batch
        self.worker = worker
        self._fence = fence
        self._wake = asyncio.Event()
        self.look_every = look_every

    def fence_with(self, worker: str, fence: Callable[[], bool]) -> None:
        """From now on walk only while `fence()` is true and `worker` holds the lease."""
        self.worker = worker
        self._fence = fence

    def wake(self) -> None:
        self._wake.set()

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Walk every unfinished fan-out to its end, or until `stop` is set (the cursors keep
        the place for the next walker); returns the deliveries added.

        Raises StorageError or sqlite3.Error when a batch cannot be written (nothing of that
        batch is kept; the next call starts it again), NotLeading when the fence says this
        worker no longer leads."""
        added = 0
        while stop is None or not stop.is_set():
            if self._fence is not None and not self._fence():
                raise NotLeading("its lease may be passing to another worker")
            now = self.clock()
            done = await fanout.step(
                self.db,
                now=now,
                local_minute=local_minute(now, self.zone),
                batch=self.batch,
                leader=self.worker if self._fence is not None else None,
            )
            if done is None:
                return added
            if done.refused and self._fence is not None:
                raise NotLeading(f"the lease refused the batch of item {done.item_id}")
            added += done.added
            if done.added:
                self.wake_sender()
            if done.done:
                log.info("fan-out of item %d: every chat reached", done.item_id)
            # Let the tasks waiting for the writer (commands, the sender's claims) go first:
            # the write lock is fair, but only to those already waiting for it.
            await asyncio.sleep(0)
        return added

    async def run(self, stop: asyncio.Event) -> None:
        """Drain now and whenever woken, until `stop` is set."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.drain(stop)
            except NotLeading as exc:
                # The leadership stops this task soon; should the lease be this worker's after
                # all (clocks apart), the walk resumes at the cursor a moment later.
                log.warning("fan-out: stops walking: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.retry_s)
                continue
            except (sqlite3.Error, StorageError, OSError) as exc:
                log.error(
                    "fan-out: cannot write a batch (%s); trying again in %.0f s",
                    exc,
                    self.retry_s,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.retry_s)
                continue
            await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for a wake, `stop`, or a fan-out another worker's poll started (bot.sharing:
        its first batch is written by the poll, on whichever worker polled): the fan-outs
        table is looked at every `look_every` seconds, a read, no writer taken."""
        while not stop.is_set() and not self._wake.is_set():
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(
                    waits, timeout=self.look_every, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for wait in waits:
                    wait.cancel()
            if stop.is_set() or self._wake.is_set():
                return
            try:
                if await fanout.unfinished(self.db):
                    return
            except (sqlite3.Error, StorageError, OSError) as exc:
                log.warning("fan-out: cannot look for unfinished fan-outs (%s)", exc)
