"""Leases: a named role (the fleet's leader) held by one worker at a time, for a while.

A lease is one row, taken or renewed by one conditional upsert: the same statement works on
SQLite and PostgreSQL and needs no lock of our own. A holder renews well before `expires_at`;
another worker may take the row only once it has expired. Times are epoch seconds from the
callers' clocks, so the workers' clocks must agree to within the margin the caller keeps
(a second or two: NTP does much better).

The leader lease's writes are `priority` transactions (storage.database): a renewal must not
queue behind the process's backlog of command writes, or the lease passes while its holder
is alive and leadership flaps under load. A running worker goes further: it renews through
`Aside`, a connection of its own in a thread with its own event loop, so that a renewal
waits neither for the writes nor for the worker's event loop (thousands of updates in
flight make each await of the main loop a turn of every task ready to run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from storage.database import Database

T = TypeVar("T")

LEADER = "leader"


@dataclass(frozen=True)
class Lease:
    """A lease as held after a successful `acquire`."""

    name: str
    holder: str
    expires_at: int  # epoch seconds
    since: int  # epoch seconds: when this holder took it (renewals keep it)
    previous: str | None  # who held it before this holder took it


async def acquire(db: Database, name: str, holder: str, now: int, ttl: int) -> Lease | None:
    """Take or renew the lease `name` for `holder` until `now + ttl` (epoch seconds).

    Succeeds when nobody holds it, when `holder` already does, or when the current holder's
    lease has expired (`expires_at <= now`); returns the lease then, None otherwise. One
    statement: two workers racing for an expired lease cannot both win.
    """
    async with db.transaction(priority=True) as conn:
        cursor = await conn.execute(
            "INSERT INTO leases (name, holder, previous, expires_at, since)"
            " VALUES (:name, :holder, NULL, :expires, :now)"
            " ON CONFLICT (name) DO UPDATE SET"
            "  previous = CASE WHEN leases.holder = excluded.holder THEN leases.previous"
            "             ELSE leases.holder END,"
            "  since = CASE WHEN leases.holder = excluded.holder THEN leases.since"
            "          ELSE excluded.since END,"
            "  holder = excluded.holder,"
            "  expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= :now"
            " RETURNING holder, expires_at, since, previous",
            {"name": name, "holder": holder, "expires": now + ttl, "now": now},
        )
        row = await cursor.fetchone()
    if row is None:
        return None
    return Lease(name, str(row[0]), int(row[1]), int(row[2]), row[3])


async def release(db: Database, name: str, holder: str) -> bool:
    """Give the lease up at once (a clean stop), if `holder` still has it; whether it had."""
    async with db.transaction(priority=True) as conn:
        cursor = await conn.execute(
            "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?", (name, holder)
        )
        return cursor.rowcount > 0


async def take_from(db: Database, name: str, holder: str, gone: str, now: int, ttl: int) -> bool:
    """Take the lease from `gone`, a holder known to be dead (its process no longer exists on
    this machine), without waiting for its lease to expire; False when `gone` no longer holds
    it (it was renewed by someone else, or released and taken meanwhile)."""
    async with db.transaction(priority=True) as conn:
        cursor = await conn.execute(
            "UPDATE leases SET previous = holder, holder = ?, expires_at = ?, since = ?"
            " WHERE name = ? AND holder = ?",
            (holder, now + ttl, now, name, gone),
        )
        return cursor.rowcount > 0


async def holder(db: Database, name: str, now: int) -> str | None:
    """Who holds the lease `name` at `now` (epoch seconds); None when nobody does."""
    cursor = await db.reader.execute(
        "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, now)
    )
    row = await cursor.fetchone()
    return str(row[0]) if row else None


class Aside:
    """A `Database` of its own, opened on `target` (the same SQLite file, with its busy
    timeout and WAL, or the same PostgreSQL URL: its own connections), used only from a
    thread of its own that runs its own event loop: what runs there never waits for the
    caller's event loop, however busy that is.

    `open` (raises StorageError like `Database.open`), then `run` jobs, then `close`.
    """

    def __init__(self, target: Path | str, name: str = "ajil-lease") -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self.db: Database | None = None
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    async def open(self) -> None:
        """Start the thread and open the database there."""
        self._thread.start()
        try:
            self.db = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(Database.open(self.target), self.loop)
            )
        except BaseException:
            self.loop.call_soon_threadsafe(self.loop.stop)
            raise

    def run(self, job: Callable[[Database], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run `job(db)` in the thread's loop; its future, for any thread (wrap it with
        asyncio.wrap_future to await it)."""
        db = self.db
        if db is None:
            raise RuntimeError("Aside.run before open")

        async def call() -> T:
            return await job(db)

        return asyncio.run_coroutine_threadsafe(call(), self.loop)

    async def close(self) -> None:
        """Close the database (what runs there first ends or is cancelled) and the thread."""
        if self.db is not None:
            db, self.db = self.db, None

            async def shut() -> None:
                current = asyncio.current_task()
                others = [task for task in asyncio.all_tasks() if task is not current]
                for task in others:
                    task.cancel()
                await asyncio.gather(*others, return_exceptions=True)
                await db.close()

            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(shut(), self.loop))
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self._thread.join)
