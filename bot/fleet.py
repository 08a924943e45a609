"""Several workers, one bot: which worker leads.

Every `ajil run` on one database answers updates and polls its share of the sources
(bot.sharing); exactly one at a time is the leader, which polls the `pusher` sources (with
their live channels), runs the digests and admins' incident checks, walks the alerts' and
broadcasts' fan-outs,
drives the paced sender (so that Telegram's per-token limit holds for the whole fleet) and,
without a webhook, is the one that asks Telegram for updates (getUpdates takes one consumer
per token). Leadership is a lease row (storage.leases) renewed every RENEW_EVERY seconds; a
leader that dies stops renewing, and another worker takes the lease once it expires and puts
the dead leader's claimed deliveries back in the queue. A leader that cannot renew in time
(paused, cut off from the database, its renewal stuck) stops acting MARGIN seconds before its
lease can pass to another worker: `valid()` is the fence its sender and its fan-out walker
check, and `run` stops every duty then, without waiting for the renewal to come back. The
renewal itself waits for nothing else the worker does: `run` takes and renews the lease in a
thread of its own, with its own event loop and its own connection (storage.leases.Aside), and
hands each outcome to the worker's event loop, which starts or stops the duties and moves the
fence. A busy event loop (32 updates at once, a queue of webhook updates) so no longer makes
the lease pass; a stuck one (no report run for `stalled_after` seconds, the lease's length)
stops the renewals, so that a worker that can lead takes over.

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
from dataclasses import dataclass
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
        stalled_after: float | None = None,
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
        # `run`: main loop stuck this long (no report run): the renewals pause (see `_keep`).
        self.stalled_after = float(ttl) if stalled_after is None else stalled_after
        self._heard = time.monotonic()  # when the main loop last ran a report of `_keep`
        self._aside: leases.Aside | None = None

    def valid(self) -> bool:
        """Whether this worker may still act as the leader now (the sender's fence)."""
        return self._until is not None and self._clock() < self._until

    async def step(self) -> float:
        """One attempt to take or renew the lease on `db`, in this event loop, starting or
        stopping the duties as it goes; returns the seconds to wait before the next attempt.
        (`run` makes its attempts in its own thread instead: see `_keep`.)"""
        return await self._apply(await self._try(self.db, self.leading))

    async def _try(self, db: Database, holding: bool) -> _Attempt:
        """Take or renew the lease on `db` (`holding`: whether the last attempt had it, so
        a dead holder of this machine is not looked for); never raises."""
        started = self._clock()
        now = int(started)
        try:
            lease = await leases.acquire(db, leases.LEADER, self.worker, now, self.ttl)
            if lease is None and not holding:
                lease = await self._take_from_the_dead(db, now)
        except Exception as exc:  # the database is away: the caller decides
            return _Attempt(started, now, None, exc, self._clock())
        return _Attempt(started, now, lease, None, self._clock())

    async def _apply(self, attempt: _Attempt) -> float:
        """Act on an attempt's outcome in this event loop; the seconds to the next attempt."""
        if attempt.error is not None:  # keep the lead only while it is valid
            log.warning("leadership: cannot reach the lease (%s)", attempt.error)
            if self.leading and not self.valid():
                await self._lose("its lease could not be renewed in time")
            return self.try_every
        if attempt.lease is None:
            if self.leading:
                await self._lose("another worker holds the lease")
            return self.try_every
        # `now` was floored to whole seconds: count from it, so that the fence never outlives
        # the lease in the database.
        until = attempt.now + self.ttl - self.margin
        took = attempt.ended - attempt.started
        if took >= self.renew_every:  # the sign of an overloaded database (or worker)
            log.warning("leadership: the lease took %.1f s to take or renew", took)
        late = self._clock() - attempt.ended
        if late >= self.renew_every:  # the event loop is that far behind: the fence's margin
            log.warning("leadership: the event loop heard of the lease %.1f s late", late)
        if self._clock() >= until:  # it came back too late to act on: take it afresh
            if self.leading:
                await self._lose("its lease was renewed too late")
            return self.try_every
        self._until = until
        if not self.leading:
            self.leading = True
            self.terms += 1
            previous = attempt.lease.previous
            gone = [name for name in (previous, self.worker) if name]
            log.info("leadership: %s leads (after %s)", self.worker, previous or "nobody")
            try:
                await self.duties.start(gone)
            except Exception as exc:  # half-started duties are no leader: hand over, try again
                log.error("leadership: %s cannot start leading (%s); hands over", self.worker, exc)
                await self._lose("its duties could not start")
                with suppress(Exception):
                    await self._release()
                return self.try_every
        return self.renew_every

    async def _take_from_the_dead(self, db: Database, now: int) -> leases.Lease | None:
        holder = await leases.holder(db, leases.LEADER, now)
        if holder is None or not gone_here(holder):
            return None
        if not await leases.take_from(db, leases.LEADER, self.worker, holder, now, self.ttl):
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

    async def _release(self) -> None:
        """Give the lease up: through the renewals' own connection while `run` has one."""
        aside = self._aside
        if aside is not None and aside.db is not None:
            await asyncio.wrap_future(
                aside.run(lambda db: leases.release(db, leases.LEADER, self.worker))
            )
        else:
            await leases.release(self.db, leases.LEADER, self.worker)

    async def _keep(self, db: Database, report: Callable[[_Attempt], object]) -> None:
        """The renewals, in the lease's own thread and loop (storage.leases.Aside): take or
        renew every `renew_every` seconds while the last attempt had the lease, every
        `try_every` while not, and `report` each outcome to the main loop. While the main
        loop has run none of the reports for `stalled_after` seconds (it is stuck, not just
        busy), no renewal is made: the lease passes to a worker that can use it, and this
        one's fence (on the main loop) has fallen by the time it runs again."""
        holding = False
        quiet = False
        while True:
            if time.monotonic() - self._heard > self.stalled_after:
                if not quiet:
                    log.warning(
                        "leadership: the event loop of %s has been stuck for %.0f s; "
                        "the lease is not renewed",
                        self.worker,
                        time.monotonic() - self._heard,
                    )
                    quiet = True
                holding = False
                await asyncio.sleep(self.try_every)
                continue
            quiet = False
            attempt = await self._try(db, holding)
            holding = attempt.lease is not None
            try:
                report(attempt)
            except RuntimeError:  # the worker's loop has closed (`run` was cancelled there)
                log.warning("leadership: the event loop of %s is closed; renewals end", self.worker)
                return
            await asyncio.sleep(self.renew_every if holding else self.try_every)

    async def run(self, stop: asyncio.Event) -> None:
        """Lead or wait until `stop`; then stop the duties and give the lease up at once, so
        that another worker leads without waiting it out. The lease is taken and renewed in
        a thread of its own, on a connection of its own (`_keep`); this loop acts on each
        outcome, and a leader whose fence falls before a renewal comes back stops its duties
        at once, before its lease can pass to another worker. Raises when a duty dies, and
        StorageError when the lease's connection cannot be opened."""
        loop = asyncio.get_running_loop()
        outcomes: asyncio.Queue[_Attempt] = asyncio.Queue()

        def heard(attempt: _Attempt) -> None:  # in this loop
            self._heard = time.monotonic()
            outcomes.put_nowait(attempt)

        def report(attempt: _Attempt) -> None:  # in the lease's thread
            loop.call_soon_threadsafe(heard, attempt)

        aside = leases.Aside(self.db.target)
        await aside.open()
        self._aside = aside
        self._heard = time.monotonic()
        keeping = asyncio.wrap_future(aside.run(lambda db: self._keep(db, report)))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                waits: set[asyncio.Future[Any]] = {keeping, stopping}
                if self.leading and self._until is not None:
                    left = self._until - self._clock()
                    if left <= 0:
                        await self._lose("its lease could not be renewed in time")
                        continue
                    waits.add(asyncio.ensure_future(self._sleep(left)))
                getting = asyncio.ensure_future(outcomes.get())
                waits.add(getting)
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiting in waits - {keeping, stopping}:
                        if not waiting.done():
                            waiting.cancel()
                if keeping.done():  # the renewals ended: their error, or a bug
                    keeping.result()
                    raise RuntimeError("the lease's renewals stopped")
                if getting.done() and not getting.cancelled():
                    await self._apply(getting.result())
                if self.leading:
                    self.duties.check()
        finally:
            stopping.cancel()
            keeping.cancel()  # no renewal after this
            try:
                if self.leading:
                    self.leading = False
                    self._until = None
                    await self.duties.stop()
                    try:
                        await self._release()
                    except Exception as exc:  # the lease then expires on its own
                        log.warning("leadership: cannot give the lease up (%s)", exc)
            finally:
                self._aside = None
                await aside.close()


@dataclass(frozen=True)
class _Attempt:
    """One attempt to take or renew the lease: when it started (the clock's seconds, and
    floored), the lease it got (None: another worker holds it), or the error it met, and
    when it ended (the clock's seconds)."""

    started: float
    now: int
    lease: leases.Lease | None
    error: Exception | None
    ended: float


class LeaderDuties:
    """The leader's work in `ajil run`: the watcher's polls of the sources bot.sharing does
    not spread (the `pusher` ones, with their channels), the digests and the admins'
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
