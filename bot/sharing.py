"""Polling spread over the fleet: each worker polls its share of the sources.

Every `ajil run` is a member of the fleet (a membership lease, storage.members, renewed every
RENEW_EVERY seconds). Which member polls a source is a pure rule, rendezvous hashing (Thaler
and Ravishankar's highest random weight): each source goes to the live member with the
highest hash of (member, source). Every member computes the same answer from the same
membership, and when a member joins or leaves only the sources it gains or held move (a
1/n share), never a reshuffle of the rest.

Members' views of the fleet differ for a moment while one joins or dies, so the rule alone
could let two workers poll one source: a worker polls a source only while it holds the
source's poll lease (storage.members.hold: taken only when free, expired or its own), and it
stops polling MARGIN seconds before that lease could pass to another worker (`ready`,
checked by the watcher before a fetch and again before the poll's write). A worker gives a
source up (stops its job, waits for a poll under way, releases the lease) as soon as the rule
names another member, and the new owner takes it at its next step. A worker that dies stops
renewing; its sources pass to the others once its leases expire: within LEASE_SECONDS +
RENEW_EVERY (about 10 s), at once when it ran on the same machine and its process is gone.

What is not spread: the `pusher` sources (their live connections and their polls stay with
the leader, bot.fleet.LeaderDuties), the digests, the fan-out walker and the sender.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import suppress
from typing import Any, Protocol

from bot.fleet import gone_here
from storage import Database, members

log = logging.getLogger(__name__)

LEASE_SECONDS = 8
RENEW_EVERY = 2.0
# A worker stops polling a source this long before its lease ends (the leader's margin, for
# the same reasons: clocks a second apart, a renewal that takes a while to come back).
MARGIN = 2.0


def weight(member: str, source: str) -> int:
    """The rendezvous weight of (member, source): 64 bits of BLAKE2b, the same in every
    process (Python's hash() of a str is salted per process)."""
    digest = hashlib.blake2b(f"{member}\x00{source}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(source: str, fleet: Sequence[str]) -> str:
    """The member of `fleet` (non-empty) that polls `source`: the highest weight, ties (never
    seen with 64 bits) broken by name. Raises ValueError for an empty fleet."""
    if not fleet:
        raise ValueError("no member to poll the source")
    return max(fleet, key=lambda member: (weight(member, source), member))


def share(sources: Iterable[str], fleet: Sequence[str]) -> dict[str, str]:
    """{source: its member} for every source, by `owner`."""
    return {source: owner(source, fleet) for source in sources}


class Polled(Protocol):
    """What Sharing needs of the watcher (bot.alerts.watcher.Watcher)."""

    def schedule_polls(self, job_queue: Any, names: Collection[str], soon: bool) -> None: ...

    def unschedule_polls(self, job_queue: Any, names: Collection[str]) -> None: ...

    async def settle(self, names: Collection[str]) -> None: ...


class Sharing:
    """Keeps this worker's membership, takes the poll leases of its share of `sources` and
    schedules their polls on `job_queue` (through the watcher); gives them up when the share
    changes or the worker stops."""

    def __init__(
        self,
        db: Database,
        job_queue: Any,
        watcher: Polled,
        sources: Collection[str],
        worker: str,
        clock: Callable[[], float] = time.time,
        ttl: int = LEASE_SECONDS,
        renew_every: float = RENEW_EVERY,
        margin: float = MARGIN,
    ) -> None:
        self.db = db
        self.job_queue = job_queue
        self.watcher = watcher
        self.sources = sorted(sources)
        self.worker = worker
        self._clock = clock
        self.ttl = ttl
        self.renew_every = renew_every
        self.margin = margin
        self.held: set[str] = set()
        self.fleet: list[str] = []
        self._until: float | None = None
        self._started = False
        self._stepped = asyncio.Event()  # set at the end of each step

    def may_poll(self, source: str) -> bool:
        """Whether this worker may poll `source` now: it holds its lease, with the margin."""
        return source in self.held and self._until is not None and self._clock() < self._until

    async def ready(self, source: str) -> bool:
        """`may_poll`, but when the fence has closed on a source still held (a renewal that
        waits its turn for the writer behind a burst of polls' writes), once a step renews it:
        a poll waits for the renewal rather than being skipped for its whole interval. False
        as soon as the source is no longer held (given up, or every lease dropped because the
        database cannot be reached, or the worker stops)."""
        while source in self.held and not self.may_poll(source):
            await self._stepped.wait()
        return self.may_poll(source)

    async def step(self) -> float:
        """Renew the membership, recompute this worker's share, give up what left it and take
        what came to it; returns the seconds to wait before the next step."""
        try:
            return await self._step()
        finally:
            self._wake_waiting()

    async def _step(self) -> float:
        try:
            # The times are read once the writer is this step's, so that a renewal that waited
            # behind other writes is counted from when it is written, not from when it asked.
            async with self.db.transaction(priority=True):  # as the leader lease (storage.leases)
                now = int(self._clock())
                fleet = await members.beat(self.db, self.worker, now, self.ttl)
            dead = {m for m in fleet if m != self.worker and gone_here(m)}
            alive = sorted({*fleet, self.worker} - dead)
            mine = [s for s in self.sources if owner(s, alive) == self.worker]
            leaving = self.held - set(mine)
            if leaving:  # outside the transaction: the polls under way may be writing
                await self._stop_polling(leaving)
            async with self.db.transaction(priority=True):
                now = int(self._clock())
                if leaving:
                    await members.release(self.db, self.worker, leaving)
                held = await members.hold(self.db, self.worker, mine, now, self.ttl, gone=dead)
        except Exception as exc:  # the database is away (as bot.fleet: any error of it)
            log.warning("polling share: cannot reach the leases (%s)", exc)
            if self.held and not (self._until is not None and self._clock() < self._until):
                log.warning("polling share: %s stops polling until it can renew", self.worker)
                await self._stop_polling(set(self.held))
            return self.renew_every
        # Counted from `now`, floored to whole seconds: the fence never outlives the leases.
        self._until = now + self.ttl - self.margin
        if alive != self.fleet:
            log.info(
                "polling share: %d workers; %s polls %d of %d sources",
                len(alive),
                self.worker,
                len(held),
                len(self.sources),
            )
            self.fleet = alive
        lost = self.held - held
        if lost:
            await self._stop_polling(lost)
        gained = held - self.held
        self.held = held
        if gained:
            # The first share is spread over the first seconds, as at any start; a source taken
            # over from another worker is polled at once (its previous poller may be dead).
            self.watcher.schedule_polls(self.job_queue, gained, soon=self._started)
        self._started = True
        return self.renew_every

    async def _stop_polling(self, names: set[str]) -> None:
        self.held -= names
        self.watcher.unschedule_polls(self.job_queue, names)
        # The polls of these sources waiting in `ready` must see it before we wait for them.
        self._wake_waiting()
        await self.watcher.settle(names)

    def _wake_waiting(self) -> None:
        """Wake the polls waiting in `ready`, and have the next ones wait anew."""
        self._stepped.set()
        self._stepped = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Share until `stop`; then stop polling, and leave the fleet at once so that the
        others take this worker's sources without waiting its leases out."""
        try:
            while not stop.is_set():
                wait = await self.step()
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            await self._stop_polling(set(self.held))
            self._until = None
            try:
                await members.leave(self.db, self.worker)
            except Exception as exc:  # the leases expire on their own
                log.warning("polling share: cannot leave the fleet (%s)", exc)
