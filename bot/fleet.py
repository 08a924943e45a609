"""Several workers, one bot: which worker leads.

Every `ajil run` on one database answers updates; exactly one at a time is the leader, which
polls the sources, runs the digests and admins' incident checks, walks the alerts' fan-outs,
drives the paced sender (so that Telegram's per-token limit holds for the whole fleet) and,
without a webhook, is the one that asks Telegram for updates (getUpdates takes one consumer
per token). Leadership is a lease row (storage.leases) renewed every RENEW_EVERY seconds; a
leader that dies stops renewing, and another worker takes the lease once it expires and puts
the dead leader's claimed deliveries back in the queue. A leader that cannot renew in time
(paused, cut off from the database, its renewal stuck) stops acting MARGIN seconds before its
lease can pass to another worker: `valid()` is the fence its sender and its fan-out walker
check, and `run` stops every duty then, without waiting for the renewal to come back. The
renewal itself never queues behind the worker's command writes (storage.leases: a priority
transaction).

On PostgreSQL an advisory lock held by a session could replace the lease row; the lease keeps
one mechanism for both backends and a fence the sender can check without a round trip.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol

from bot.alerts.fanout import FanOutWalker
from bot.alerts.sender import Sender
from bot.alerts.watcher import Watcher
from bot.ops.incidents import Incidents
from storage import Database, leases

log = logging.getLogger(__name__)

# A dead leader is replaced within LEASE_SECONDS + TRY_EVERY (+1 for whole seconds): 9-10 s.
LEASE_SECONDS = 8
RENEW_EVERY = 2.0
TRY_EVERY = 1.0
# The leader stops acting this long before its lease ends: the workers' clocks may differ by
# less than this, and a renewal may take this long to come back.
MARGIN = 2.0


class Duties(Protocol):
    """What the leader does while it leads."""

    async def start(self, gone: Sequence[str]) -> None:
        """Begin; `gone` names the workers whose claimed deliveries must be put back."""

    async def stop(self) -> None:
        """End at once (the lease is lost or the worker stops)."""

    def check(self) -> None:
        """Raise the error of a duty that died on its own (the sender): the worker must stop."""


def _machine() -> str:
    """This boot of this machine and this PID namespace, or "" where it cannot be told: two
    workers with the same value see each other's processes."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}-{namespace}"


def worker_id() -> str:
    """A name for this process, unique in the fleet: host/pid/random/machine."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}/{_machine()}"


def gone_here(holder: str) -> bool:
    """Whether `holder` is a worker of this machine (and PID namespace) whose process no
    longer exists: a crashed run of the same bot, whose lease need not be waited out."""
    parts = holder.rsplit("/", 3)
    if len(parts) != 4 or not parts[3] or parts[3] != _machine() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (another user's process): it may still be alive
    return False


class Leadership:
    """Holds the leader lease for this worker, or waits to take it; starts and stops `duties`."""

    def __init__(
        self,
        db: Database,
        duties: Duties,
        worker: str | None = None,
        clock: Callable[[], float] = time.time,
        ttl: int = LEASE_SECONDS,
        renew_every: float = RENEW_EVERY,
        try_every: float = TRY_EVERY,
        margin: float = MARGIN,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.duties = duties
        self.worker = worker or worker_id()
        self._clock = clock
        self.ttl = ttl
        self.renew_every = renew_every
        self.try_every = try_every
        self.margin = margin
        self._sleep = sleep  # waits seconds of `clock`: a seam for tests on an injected clock
        self._until: float | None = None  # when this worker must stop acting as the leader
        self.leading = False
        self.terms = 0  # how many times this worker took the lead

    def valid(self) -> bool:
        """Whether this worker may still act as the leader now (the sender's fence)."""
        return self._until is not None and self._clock() < self._until

    async def step(self) -> float:
        """One attempt to take or renew the lease, starting or stopping the duties as it goes;
        returns the seconds to wait before the next attempt."""
        started = self._clock()
        now = int(started)
        try:
            lease = await leases.acquire(self.db, leases.LEADER, self.worker, now, self.ttl)
            if lease is None and not self.leading:
                lease = await self._take_from_the_dead(now)
        except Exception as exc:  # the database is away: keep the lead only while it is valid
            log.warning("leadership: cannot reach the lease (%s)", exc)
            if self.leading and not self.valid():
                await self._lose("its lease could not be renewed in time")
            return self.try_every
        if lease is None:
            if self.leading:
                await self._lose("another worker holds the lease")
            return self.try_every
        # `now` was floored to whole seconds: count from it, so that the fence never outlives
        # the lease in the database.
        until = now + self.ttl - self.margin
        took = self._clock() - started
        if took >= self.renew_every:  # the sign of an overloaded worker or database
            log.warning("leadership: the lease took %.1f s to take or renew", took)
        if self._clock() >= until:  # it came back too late to act on: take it afresh
            if self.leading:
                await self._lose("its lease was renewed too late")
            return self.try_every
        self._until = until
        if not self.leading:
            self.leading = True
            self.terms += 1
            gone = [name for name in (lease.previous, self.worker) if name]
            log.info("leadership: %s leads (after %s)", self.worker, lease.previous or "nobody")
            try:
                await self.duties.start(gone)
            except Exception as exc:  # half-started duties are no leader: hand over, try again
                log.error("leadership: %s cannot start leading (%s); hands over", self.worker, exc)
                await self._lose("its duties could not start")
                with suppress(Exception):
                    await leases.release(self.db, leases.LEADER, self.worker)
                return self.try_every
        return self.renew_every

    async def _take_from_the_dead(self, now: int) -> leases.Lease | None:
        holder = await leases.holder(self.db, leases.LEADER, now)
        if holder is None or not gone_here(holder):
            return None
        if not await leases.take_from(self.db, leases.LEADER, self.worker, holder, now, self.ttl):
            return None
        log.info(
            "leadership: %s is gone (its process has ended); not waiting for its lease", holder
        )
        return leases.Lease(leases.LEADER, self.worker, now + self.ttl, now, holder)

    async def _lose(self, why: str) -> None:
        log.warning("leadership: %s stops leading: %s", self.worker, why)
        self.leading = False
        self._until = None
        await self.duties.stop()

    async def _attempt(self) -> float:
        """One `step`; while it runs, a leader whose fence falls (the renewal has not come
        back) stops its duties at once, before its lease can pass to another worker."""
        attempt = asyncio.ensure_future(self.step())
        try:
            while self.leading and self._until is not None:
                left = self._until - self._clock()
                if left <= 0:
                    await self._lose("its lease could not be renewed in time")
                    break
                timer = asyncio.ensure_future(self._sleep(left))
                await asyncio.wait({attempt, timer}, return_when=asyncio.FIRST_COMPLETED)
                timer.cancel()
                if attempt.done():
                    break
            return await attempt
        finally:
            attempt.cancel()  # when this is cancelled itself; a no-op once the step is done

    async def run(self, stop: asyncio.Event) -> None:
        """Lead or wait until `stop`; then stop the duties and give the lease up at once, so
        that another worker leads without waiting it out. Raises when a duty dies."""
        try:
            while not stop.is_set():
                wait = await self._attempt()
                if self.leading:
                    self.duties.check()
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            if self.leading:
                self.leading = False
                self._until = None
                await self.duties.stop()
                try:
                    await leases.release(self.db, leases.LEADER, self.worker)
                except Exception as exc:  # the lease then expires on its own
                    log.warning("leadership: cannot give the lease up (%s)", exc)


class LeaderDuties:
    """The leader's work in `ajil run`: the watcher's polls and digests and the admins'
    incident checks (jobs on PTB's JobQueue), the paced sender, the fan-out walker (which
    first carries on the fan-outs a previous leader left unfinished, from their cursors),
    and, without a webhook, the getUpdates loop (`receive`: start and stop it)."""

    def __init__(
        self,
        job_queue: Any,
        watcher: Watcher,
        sender: Sender,
        walker: FanOutWalker,
        incidents: Incidents | None = None,
        receive: tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[object]]]
        | None = None,
    ) -> None:
        self.job_queue = job_queue
        self.watcher = watcher
        self.sender = sender
        self.walker = walker
        self.incidents = incidents
        self.receive = receive
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, gone: Sequence[str]) -> None:
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self.sender.run(self._stop, gone), name="sender"),
            # Its first walk needs no wake: it carries on what a dead leader left unfinished.
            asyncio.create_task(self.walker.run(self._stop), name="fan-out walker"),
        ]
        self.watcher.schedule(self.job_queue)
        incidents = self.incidents
        if incidents is not None and not self.job_queue.get_jobs_by_name("incidents"):
            self.job_queue.run_repeating(
                lambda _: incidents.check(),
                interval=60,
                first=60,
                name="incidents",
                job_kwargs={"coalesce": True, "max_instances": 1, "misfire_grace_time": 50},
            )
        if self.receive is not None:
            await self.receive[0]()

    async def stop(self) -> None:
        # Jobs first: no poll or digest starts from now on (one already running ends; what it
        # stores is stored once, whoever stores it).
        self.watcher.unschedule(self.job_queue)
        for job in self.job_queue.get_jobs_by_name("incidents"):
            job.schedule_removal()
        # The push channels too: a follower must not turn pushes into alerts.
        try:
            await self.watcher.close()
        except Exception as exc:  # stopping must go on: the sender must still stop
            log.warning("leadership: while closing the push channels: %s", exc)
        self._stop.set()
        if self.receive is not None:
            try:
                await self.receive[1]()
            except Exception as exc:  # stopping must go on: the sender must still stop
                log.warning("leadership: while stopping getUpdates: %s", exc)
        # The walker ends after the batch it is writing (its cursor keeps the place).
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            with suppress(Exception):
                await task

    def check(self) -> None:
        for task in self._tasks:
            if task.done() and not task.cancelled():
                error = task.exception()
                if error is not None:
                    raise RuntimeError(f"the alert {task.get_name()} stopped: {error!r}") from error
