"""Write transactions under load, on both backends: the leader lease's renewal never waits
behind a process's backlog of command writes, a leader whose renewal is stuck stops its
duties before its lease can pass, independent transactions run at once on PostgreSQL (one
writer on SQLite), and what still needs turns (`serial`, one chat's read-modify-write) gets
them. Nothing here waits on a clock: the backlog is transactions held open on purpose, the
lease runs on an injected clock; the `until` guards only turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from bot.actions import ChatRef, add_keyword, chat_record
from bot.fleet import Leadership
from bot.preferences import MAX_FILTERS
from storage import Database, leases, meta, subscribers
from storage.postgres import WRITERS
from storage.sqlite import GATE as sqlite_gate
from tests.live import until

T0 = 1_800_000_000  # epoch seconds


class FakeTime:
    """A clock and the sleep that goes with it: a sleeper wakes when `advance` passes its end."""

    def __init__(self, at: float = T0) -> None:
        self.at = at
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.at

    async def sleep(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self.at + seconds, wake)
        self.sleepers.append(entry)
        try:
            await wake
        finally:
            self.sleepers.remove(entry)

    def advance(self, seconds: float) -> None:
        self.at += seconds
        for end, wake in self.sleepers:
            if end <= self.at and not wake.done():
                wake.set_result(None)


class Duties:
    def __init__(self) -> None:
        self.started = 0
        self.stopped = 0

    async def start(self, gone: Sequence[str]) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1

    def check(self) -> None:
        pass


class Held:
    """Write transactions held open until `release`: a process's writes in flight."""

    def __init__(self, db: Database, count: int) -> None:
        self.db = db
        self.count = count
        self.inside = 0
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def _one(self, n: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"held{n}", "x"))
            self.inside += 1
            await self.release.wait()

    async def __aenter__(self) -> Held:
        self.tasks = [asyncio.create_task(self._one(n)) for n in range(self.count)]
        await until(lambda: self.inside == self.count, 30, "the held transactions")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await asyncio.gather(*self.tasks)


def in_flight(db: Database) -> int:
    """How many write transactions may be open at once in one process: one writer on SQLite;
    on PostgreSQL the writer slots (the pool's other connections stay for reads)."""
    return 1 if db.one_writer else WRITERS


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    """Another worker's connection to the same database."""
    second = await Database.open(db.target)
    yield second
    await second.close()


async def test_the_lease_renewal_goes_before_the_backlog_of_writes(db: Database) -> None:
    assert await leases.acquire(db, leases.LEADER, "A", T0, 8) is not None
    done: list[str] = []

    async def write(n: int) -> None:
        await meta.put(db, f"queued{n}", "x")
        done.append(f"write {n}")

    async def renew() -> None:
        assert await leases.acquire(db, leases.LEADER, "A", T0 + 2, 8) is not None
        done.append("renewal")

    async with Held(db, in_flight(db)) as held:
        # A backlog behind the writes in flight: 40 command writes waiting for their turn
        # (SQLite) or for a writer slot (PostgreSQL), queued before the renewal.
        writes = [asyncio.create_task(write(n)) for n in range(40)]
        for _ in range(5):
            await asyncio.sleep(0)
        renewal = asyncio.create_task(renew())
        if not db.one_writer:
            # Its own connection: it lands while every writer slot is still held.
            await until(renewal.done, 30, "the renewal, every writer slot held")
            assert held.inside == in_flight(db) and not held.release.is_set()
        else:
            await until(lambda: db.write_queue.waiting == 41, 30, "the queue")
    await renewal
    await asyncio.gather(*writes)
    # First after the write it waited for (SQLite: the one running), before all 40 queued.
    assert done[0] == "renewal", done[:3]
    row = await db.reader.execute_fetchall("SELECT expires_at FROM leases")
    assert row == [(T0 + 10,)]


async def test_a_leader_whose_renewal_is_stuck_stops_before_its_lease_can_pass(
    db: Database, other: Database
) -> None:
    time = FakeTime()
    duties = Duties()
    leader = Leadership(db, duties, worker="A", clock=time, sleep=time.sleep)
    await leader.step()
    assert leader.leading and duties.started == 1
    # Another transaction holds what the renewal must write (SQLite: the file's write lock;
    # PostgreSQL: the lease's row), for as long as the test says.
    locked, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with other.transaction() as conn:
            await conn.execute("UPDATE leases SET expires_at = expires_at WHERE name = 'leader'")
            locked.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await locked.wait()
    stop = asyncio.Event()
    run = asyncio.create_task(leader.run(stop))
    try:
        await until(lambda: bool(time.sleepers), 30, "the leader waiting on its fence")
        time.advance(leader.ttl - leader.margin)  # the renewal has not come back
        await until(lambda: duties.stopped == 1, 30, "the duties stopped")
        assert not leader.leading and not leader.valid()
        # Stopped while the lease is still its own: no second leader can be acting yet.
        assert await leases.holder(other, leases.LEADER, int(time.at)) == "A"
    finally:
        release.set()
        await holder
        stop.set()
        await asyncio.wait_for(run, 60)
    # The renewal came back too late to lead on (its lease would end 2 s from now): no
    # second term started on it.
    assert duties.started == 1 and not leader.leading


async def test_the_lease_is_renewed_while_the_event_loop_is_blocked(db: Database) -> None:
    """A worker's event loop that runs nothing for a while (thousands of updates in flight,
    a CPU-bound step) does not delay the lease's renewal: it is made in a thread of its own,
    on a connection of its own. Here the loop is blocked outright, by a synchronous wait in
    this coroutine that ends only once the database shows the renewal."""
    duties = Duties()
    leader = Leadership(db, duties, worker="A", renew_every=0.2, try_every=0.2)
    stop = asyncio.Event()
    run = asyncio.create_task(leader.run(stop))
    observer = leases.Aside(db.target, name="observer")
    await observer.open()

    async def read(on: Database) -> tuple[str, int, int]:
        rows = await on.reader.execute_fetchall(
            "SELECT holder, expires_at, since FROM leases WHERE name = 'leader'"
        )
        return (str(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else ("", 0, 0)

    try:
        await until(lambda: leader.leading, 30, "the lead")
        holder, expires, since = await asyncio.wrap_future(observer.run(read))
        assert holder == "A"
        renewed = None
        for _ in range(300):  # a guard (30 s): the renewal comes within about a second
            seen = observer.run(read).result(timeout=30)
            if seen[1] > expires:
                renewed = seen
                break
            time.sleep(0.1)  # noqa: ASYNC251 (on purpose: the event loop runs nothing meanwhile)
        assert renewed is not None, "no renewal while the event loop was blocked"
        assert renewed[0] == "A" and renewed[2] == since  # the same term, renewed
        # Back on the loop, the renewals seen meanwhile keep the lead: it never flapped.
        await until(lambda: leader.valid(), 30, "the fence")
        assert leader.leading and duties.started == 1 and duties.stopped == 0
    finally:
        await observer.close()
        stop.set()
        await asyncio.wait_for(run, 60)
    assert duties.stopped == 1
    # The lease was given up at the stop.
    assert await leases.holder(db, leases.LEADER, int(time.time())) is None


async def test_a_stuck_event_loop_stops_the_renewals(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A loop that runs nothing for `stalled_after` seconds is stuck, not busy: the lease's
    thread stops renewing, so that the lease passes to a worker that can lead, and the
    stuck one, once it runs again, finds its fence down and stops its duties."""
    caplog.set_level("WARNING", logger="bot.fleet")
    duties = Duties()
    leader = Leadership(
        db,
        duties,
        worker="A",
        ttl=2,
        margin=0.5,
        renew_every=0.1,
        try_every=0.1,
        stalled_after=0.5,
    )
    stop = asyncio.Event()
    run = asyncio.create_task(leader.run(stop))
    observer = leases.Aside(db.target, name="observer")
    await observer.open()

    async def expires(on: Database) -> int:
        rows = await on.reader.execute_fetchall("SELECT expires_at FROM leases")
        return int(rows[0][0])

    try:
        await until(lambda: leader.leading, 30, "the lead")
        stuck = None
        for _ in range(300):  # a guard (30 s); synchronous: the loop runs nothing meanwhile
            if any("has been stuck" in r.getMessage() for r in caplog.records):
                stuck = observer.run(expires).result(timeout=30)
                break
            time.sleep(0.1)  # noqa: ASYNC251 (on purpose)
        assert stuck is not None, "the renewals went on while the event loop was stuck"
        while time.time() < stuck + 1:  # past the lease's end, the loop still stuck
            time.sleep(0.1)  # noqa: ASYNC251 (on purpose)
        assert observer.run(expires).result(timeout=30) == stuck  # not renewed meanwhile
        await until(lambda: duties.stopped >= 1, 30, "the duties stopped")
    finally:
        await observer.close()
        stop.set()
        await asyncio.wait_for(run, 60)


async def test_the_lease_on_its_own_sqlite_connection_goes_before_the_process_writes(
    db: Database,
) -> None:
    """On SQLite the renewal's own connection would compete for the file's lock with the
    process's back-to-back writes through the busy handler's sleeps; the process's writes
    wait for it instead (storage.sqlite's gate)."""
    if not db.one_writer:
        pytest.skip("SQLite's file lock; PostgreSQL's lease has its own row and connection")
    aside = leases.Aside(db.target)
    await aside.open()
    try:
        async with Held(db, 1):  # a write in flight: the lease must wait for it
            renewal = asyncio.wrap_future(
                aside.run(
                    lambda on: _renew_counting(on, leases.LEADER, "A", T0, 8),
                )
            )
            key = str(db.target.resolve())  # type: ignore[union-attr]
            await until(lambda: sqlite_gate.wanted(key), 30, "the renewal waiting")
            writes = [asyncio.create_task(meta.put(db, f"queued{n}", "x")) for n in range(5)]
            for _ in range(5):
                await asyncio.sleep(0)
        # The renewal saw none of the writes queued after it began to wait.
        assert await renewal == 0
        await asyncio.gather(*writes)
    finally:
        await aside.close()


async def _renew_counting(db: Database, name: str, holder: str, now: int, ttl: int) -> int:
    """The lease taken, and how many of the queued writes were in before it, in one
    transaction."""
    async with db.transaction(priority=True) as conn:
        assert await leases.acquire(db, name, holder, now, ttl) is not None
        rows = await conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'queued%'")
        (row,) = await rows.fetchall()
        return int(row[0])


async def test_independent_transactions_run_at_once_on_postgresql_only(db: Database) -> None:
    async with Held(db, 1):
        write = asyncio.create_task(meta.put(db, "beside", "x"))
        if db.one_writer:
            await until(lambda: db.write_queue.waiting == 1, 30, "the queue")
            assert not write.done()  # SQLite: one writer, it waits its turn
        else:
            await until(write.done, 30, "a write beside an open transaction")
    await write
    assert await meta.get(db, "beside") == "x"


async def test_serial_transactions_take_turns_on_both_backends(db: Database) -> None:
    inside = 0
    most = 0
    first_in = asyncio.Event()
    go_on = asyncio.Event()

    async def serial(n: int) -> None:
        nonlocal inside, most
        async with db.transaction(serial=True) as conn:
            inside += 1
            most = max(most, inside)
            await conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"s{n}", "x"))
            first_in.set()
            await go_on.wait()
            inside -= 1

    tasks = [asyncio.create_task(serial(n)) for n in range(4)]
    await first_in.wait()
    await until(lambda: db.write_queue.waiting == 3, 30, "the other serial transactions")
    go_on.set()
    await asyncio.gather(*tasks)
    assert most == 1


async def test_one_chats_keywords_stay_within_the_limit_when_added_at_once(
    db: Database,
) -> None:
    chat = ChatRef(42, "private", None, "ar")
    words = [f"كلمة{n}" for n in range(MAX_FILTERS - 1)]
    await chat_record(db, chat)
    await subscribers.set_filters(db, chat.id, add=words)
    started = asyncio.Event()

    async def last_one_here() -> None:
        async with db.transaction():
            await chat_record(db, chat)  # the chat's row is this transaction's until it ends
            started.set()
            # Another update of the same chat adds a keyword meanwhile (PostgreSQL: at once,
            # beside this transaction); it must see this one's keyword, or wait for it.
            await asyncio.sleep(0.2)
            await subscribers.set_filters(db, chat.id, add=["أخيرة"])

    here = asyncio.create_task(last_one_here())
    await started.wait()
    beside = await add_keyword(db, chat, "أخرى", "أخرى")
    await here
    assert not beside
    assert len(await subscribers.filters(db, chat.id)) == MAX_FILTERS
