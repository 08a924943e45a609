"""One alert's fan-out at 10k, 100k and 1M subscribers, on the path the product runs: the
poll's `fanout.enqueue_alert` (first batch) and the walker's `fanout.step` batches.

For each audience: the total time, the longest single transaction (what a command's write may
wait behind), the leader's peak memory during the fan-out (VmHWM, reset before it), and,
while the fan-out runs, the latency of the read /latest makes (`items.latest`) and of a
settings change (`subscribers.set_preferences`, a write). The same alert written in one
transaction (`batch` = the whole audience: how Ajil wrote it before) is measured on the same
data for comparison.

    .venv/bin/python -m bench.bench_fanout [--database TARGET] [--sizes 10000,100000,1000000]
        [--batch N] [--no-single] [--broadcast]

With --broadcast, an admin's /broadcast to every active subscriber is measured instead of the
alerts (`fanout.enqueue_broadcast` in the use case's transaction, then the walker's batches),
and, unless --no-single, the same broadcast in one transaction for comparison.

TARGET is a folder for SQLite files (default: a temporary folder; one file per size) or a
PostgreSQL URL: the bench then works in a schema of its own, created in that database and
dropped at the end (memory figures are then the bench's process only, not the server's; the
server's CPU for each transaction is read from /proc, when the server runs on this machine).
Each size is measured in a child process of its own. Figures and
their reading: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from storage import Database, fanout, items, notices, subscribers
from storage import sources as source_store
from storage.models import NewItem, Priority
from storage.sources import SourceSpec

ITEMS = 2000  # headlines already stored: what /latest reads among
KEYWORDS = ("المطار", "زلزال")
TEXT = "زلزال بقوة 5 درجات يضرب المنطقة قرب المطار"
STORY_WINDOW = 24 * 3600
RATE = 25.0
TABLES = (
    "notice_fanouts",
    "fanouts",
    "deliveries",
    "subscriber_filters",
    "subscriber_sources",
    "subscribers",
    "items",
)


def is_url(target: str) -> bool:
    return "://" in target


@contextlib.contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    """A URL whose search_path is a new, empty schema of `url`'s database, dropped on exit."""
    schema = f"ajil_bench_{uuid.uuid4().hex[:12]}"

    async def run(statement: str) -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    finally:
        asyncio.run(run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def database_for(target: str, size: int) -> str:
    return target if is_url(target) else str(Path(target) / f"fanout-{size}.db")


async def prepare(target: str, size: int) -> None:
    """An audience of `size` chats with the settings people use, and a history of alerts.

    10 % inactive, 1 in 7 takes every headline and 1 in 33 only digests; 1 in 20 has keyword
    filters, 1 in 50 has switched the source off, 1 in 25 is in quiet hours now. Every active
    chat was sent an earlier alert, and every other one another (the story rule reads them)."""
    db = await Database.open(database_for(target, size))
    try:
        async with db.transaction() as conn:
            for table in TABLES:
                await conn.execute(f"DELETE FROM {table}")
        (state,) = await source_store.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
        await subscribers.add_many(db, ((n, "private", "ar") for n in range(1, size + 1)))
        now = int(time.time())
        async with db.transaction() as conn:
            await conn.execute("UPDATE subscribers SET active = 0 WHERE chat_id % 10 = 0")
            await conn.execute("UPDATE subscribers SET alert_level = 'all' WHERE chat_id % 7 = 0")
            await conn.execute(
                "UPDATE subscribers SET alert_level = 'digest' WHERE chat_id % 33 = 0"
            )
            # Quiet 00:00-23:59 local: quiet whatever the time of the run.
            await conn.execute(
                "UPDATE subscribers SET quiet_start = 0, quiet_end = 1439 WHERE chat_id % 25 = 3"
            )
            for n, word in enumerate(("ميناء", *KEYWORDS)):
                await conn.execute(
                    "INSERT INTO subscriber_filters (chat_id, word, shown)"
                    " SELECT chat_id, ?, ? FROM subscribers WHERE chat_id % 20 = ?",
                    (word, word, n % 2 + 1),
                )
            await conn.execute(
                "INSERT INTO subscriber_sources (chat_id, source_id, enabled)"
                " SELECT chat_id, CAST(? AS INTEGER), 0 FROM subscribers WHERE chat_id % 50 = 5",
                (state.id,),
            )
        moment = datetime.now(UTC)
        await items.insert_many(
            db,
            [
                NewItem(
                    f"bench:{n}",
                    state.id,
                    f"https://site.ma/{n}",
                    f"عنوان رقم {n}",
                    f"عنوان رقم {n}",
                    moment - timedelta(minutes=n),
                    moment - timedelta(minutes=n),
                    urgent=n % 10 == 0,
                )
                for n in range(ITEMS)
            ],
        )
        # Two earlier alerts: one sent to every active chat, one (the story the second case
        # continues) to every other one.
        for uid, modulo in (("bench:10", 1), ("bench:20", 2)):
            item_id = await items.id_of(db, uid)
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO deliveries (item_id, chat_id, priority, queue_at, state,"
                    " not_before, created_at, updated_at)"
                    " SELECT CAST(? AS INTEGER), chat_id, 0, 0, 'sent', CAST(? AS INTEGER),"
                    " CAST(? AS INTEGER), CAST(? AS INTEGER) FROM subscribers"
                    " WHERE active = 1 AND chat_id % ? = 0",
                    (item_id, now - 3600, now - 3600, now - 3600, modulo),
                )
        if db.dialect == "postgresql":
            # The planner's statistics, as autovacuum keeps them on a live database: without
            # them, tables just filled are planned as empty (sequential scans per chat).
            async with db.transaction() as conn:
                await conn.execute(f"ANALYZE {', '.join(TABLES)}")
    finally:
        await db.close()


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_memory_mb() -> float:
    """VmHWM of this process: the most resident memory it has had, in MB."""
    return _status_mb("VmHWM")


def resident_mb() -> float:
    """VmRSS of this process now, in MB."""
    return _status_mb("VmRSS")


def reset_peak_memory() -> None:
    """Start VmHWM again from the current resident size (Linux: clear_refs 5), so that each
    fan-out's peak is its own, not the set-up's or the last case's clean-up's."""
    Path("/proc/self/clear_refs").write_text("5")


def quantiles(values: list[float]) -> dict[str, float]:
    """p50, p99 and max of durations in seconds, as milliseconds."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(values),
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p99": round(p99 * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


async def new_item(db: Database, n: int, story_id: int | None) -> tuple[int, int]:
    (state,) = await source_store.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
    moment = datetime.now(UTC)
    (item_id,) = await items.insert_new(
        db,
        [
            NewItem(
                f"bench:alert:{n}",
                state.id,
                f"https://site.ma/alert/{n}",
                f"عاجل: زلزال رقم {n}",
                f"عاجل: زلزال رقم {n}",
                moment,
                moment,
                urgent=True,
                story_id=story_id,
            )
        ],
    )
    assert item_id is not None
    return item_id, state.id


class ServerClock:
    """CPU time the PostgreSQL server spent on the walker's transactions, in seconds (0 on
    SQLite, whose work is in the process's own CPU time).

    Read from /proc/PID/schedstat (nanoseconds on a CPU) of the server's backends of this
    process (those with its `application_name`), which needs the server on this machine
    (otherwise 0). `mark()` before a transaction notes every backend's CPU; `spent()` after
    it counts only the backend that ran the walker's last transaction, not the probes' (which
    run beside it on other connections of the pool, more of them the longer a batch waits
    for a core on a busy machine)."""

    def __init__(self, db: Database, application_name: str | None) -> None:
        self._name = application_name
        self._db = db
        self._pids: list[int] = []
        self._before: dict[int, int] = {}
        self._writer: dict[asyncio.Task[Any] | None, int] = {}
        if application_name is not None:
            # Which backend each task's transaction runs on (bench-only wrapper: storage
            # offers no such seam, and the product needs none).
            begin = db._begin

            async def noting_begin(priority: bool = False) -> Any:
                conn = await begin(priority)
                pid = conn.connection.get_server_pid()  # type: ignore[attr-defined]
                self._writer[asyncio.current_task()] = pid
                return conn

            db._begin = noting_begin  # type: ignore[method-assign]

    async def refresh(self) -> None:
        """Look the backends up again: the pool opens connections as the probes need them."""
        if self._name is not None:
            rows = await self._db.reader.execute_fetchall(
                "SELECT pid FROM pg_stat_activity WHERE application_name = ?", (self._name,)
            )
            self._pids = [int(row[0]) for row in rows]

    @staticmethod
    def _ns(pid: int) -> int:
        try:
            return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except OSError:
            return 0

    def mark(self) -> None:
        self._before = {pid: self._ns(pid) for pid in self._pids}

    def spent(self) -> float:
        """Seconds of CPU the backend of this task's last transaction spent since `mark`."""
        pid = self._writer.get(asyncio.current_task())
        if pid is None or pid not in self._before:
            return 0.0
        return (self._ns(pid) - self._before[pid]) / 1e9


async def fan_out(
    db: Database,
    item_id: int,
    source_id: int,
    story_id: int | None,
    batch: int,
    server: ServerClock,
    notice_id: int | None = None,
) -> tuple[float, list[float], list[float], list[float], int]:
    """The poll's first batch (the /broadcast use case's, with `notice_id`), then the walker's batches, each timed alone: (total seconds,
    each transaction's seconds, each transaction's CPU seconds in this process and in the
    server, deliveries written).

    The CPU time is the whole process's (the probes' reads too, a few percent): on a shared
    machine a transaction's wall time also counts the moments the OS ran other processes."""
    holds: list[float] = []
    cpu: list[float] = []
    server_cpu: list[float] = []
    await server.refresh()
    started = time.perf_counter()
    cpu_started = time.process_time()
    server.mark()
    now = datetime.now(UTC)
    async with db.transaction():  # the poll's transaction, as the watcher takes it
        if notice_id is not None:  # the /broadcast use case's (bot.actions.queue_broadcast)
            added = await fanout.enqueue_broadcast(
                db, notice_id, priority=Priority.URGENT, now=now, rate=RATE, batch=batch
            )
        else:
            added = await fanout.enqueue_alert(
                db,
                item_id=item_id,
                source_id=source_id,
                urgent=True,
                story_id=story_id,
                text=TEXT,
                now=now,
                local_minute=now.hour * 60 + now.minute,
                story_window=STORY_WINDOW,
                rate=RATE,
                batch=batch,
            )
    holds.append(time.perf_counter() - started)
    cpu.append(time.process_time() - cpu_started)
    server_cpu.append(server.spent())
    while True:  # FanOutWalker.drain, with a clock around each batch
        await server.refresh()
        now = datetime.now(UTC)
        before = time.perf_counter()
        cpu_before = time.process_time()
        server.mark()
        step = await fanout.step(db, now=now, local_minute=now.hour * 60 + now.minute, batch=batch)
        if step is None:
            break
        holds.append(time.perf_counter() - before)
        cpu.append(time.process_time() - cpu_before)
        server_cpu.append(server.spent())
        added += step.added
        await asyncio.sleep(0)
    return time.perf_counter() - started, holds, cpu, server_cpu, added


async def forget(db: Database, item_id: int) -> None:
    """Delete a measured alert and its deliveries."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM deliveries WHERE item_id = ?", (item_id,))
        await conn.execute("DELETE FROM items WHERE id = ?", (item_id,))


async def probe(db: Database, stop: asyncio.Event) -> tuple[list[float], list[float]]:
    """/latest's read every 10 ms and a settings change every 50 ms until `stop`: their
    latencies in seconds."""
    reads: list[float] = []
    writes: list[float] = []
    level = ["all", "urgent"]

    async def read() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await items.latest(db, limit=6)
            reads.append(time.perf_counter() - before)
            await asyncio.sleep(0.01)

    async def write() -> None:
        while not stop.is_set():
            level.reverse()
            before = time.perf_counter()
            await subscribers.set_preferences(db, 1, alert_level=level[0])  # type: ignore[arg-type]
            writes.append(time.perf_counter() - before)
            await asyncio.sleep(0.05)

    await asyncio.gather(read(), write())
    return reads, writes


async def start(
    db: Database, n: int, story_id: int | None, broadcast: bool
) -> tuple[int, int, int | None]:
    """What one run fans out: (item, source, None) for an alert, (0, 0, notice) for a
    broadcast."""
    if broadcast:
        return 0, 0, await notices.create(db, "broadcast", "صيانة مجدولة الليلة")
    item_id, source_id = await new_item(db, n, story_id)
    return item_id, source_id, None


async def forget_notice(db: Database, notice_id: int) -> None:
    """Delete a measured broadcast and its deliveries."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM deliveries WHERE notice_id = ?", (notice_id,))
        await conn.execute("DELETE FROM notices WHERE id = ?", (notice_id,))


async def measure(
    database: str, size: int, batch: int | None, single: bool, broadcast: bool = False
) -> dict[str, Any]:
    name = f"ajil_bench_{os.getpid()}" if is_url(database) else None
    if name is not None:
        database = f"{database}{'&' if '?' in database else '?'}application_name={name}"
    db = await Database.open(database)
    server = ServerClock(db, name)
    batch = batch or fanout.batch_size(db)
    result: dict[str, Any] = {"size": size, "batch": batch, "rss_open_mb": peak_memory_mb()}
    try:
        stop = asyncio.Event()
        idle = asyncio.create_task(probe(db, stop))
        await asyncio.sleep(2)
        stop.set()
        reads, writes = await idle
        result["idle"] = {"latest": quantiles(reads), "settings": quantiles(writes)}
        root = await items.id_of(db, "bench:20")
        cases = [("first item of a story", None), ("later item of a story", root)]
        if broadcast:
            cases = [("broadcast to everyone", None)]
        result["cases"] = [name for name, _ in cases]
        for n, (name, story_id) in enumerate(cases):
            item_id, source_id, notice_id = await start(db, n, story_id, broadcast)
            stop = asyncio.Event()
            reset_peak_memory()
            resident = resident_mb()  # the last case's clean-up leaves SQLite's caches grown
            probes = asyncio.create_task(probe(db, stop))
            load = os.getloadavg()[0]
            total, holds, cpu, server_cpu, added = await fan_out(
                db, item_id, source_id, story_id, batch, server, notice_id
            )
            stop.set()
            reads, writes = await probes
            peak = peak_memory_mb()
            # The next run finds the same story and audience.
            await (forget(db, item_id) if notice_id is None else forget_notice(db, notice_id))
            result[name] = {
                "deliveries": added,
                "total_s": round(total, 3),
                "transactions": len(holds),
                "hold_ms": quantiles(holds),
                "hold_cpu_ms": quantiles(cpu),
                "server_cpu_ms": quantiles(server_cpu),
                "load_average": f"{load:.1f}-{os.getloadavg()[0]:.1f}",  # at start and end
                "latest": quantiles(reads),
                "settings": quantiles(writes),
                "peak_mb": round(peak, 1),
                "growth_mb": round(peak - resident, 1),
            }
            if single:
                item_id, source_id, notice_id = await start(db, n + 10, story_id, broadcast)
                stop = asyncio.Event()
                reset_peak_memory()
                probes = asyncio.create_task(probe(db, stop))
                total, _, cpu, server_cpu, added = await fan_out(
                    db, item_id, source_id, story_id, size + 1, server, notice_id
                )
                stop.set()
                reads, writes = await probes
                peak = peak_memory_mb()
                await (forget(db, item_id) if notice_id is None else forget_notice(db, notice_id))
                result[name]["one transaction"] = {
                    "deliveries": added,
                    "hold_s": round(total, 3),
                    "cpu_s": round(sum(cpu), 3),
                    "server_cpu_s": round(sum(server_cpu), 3),
                    "latest": quantiles(reads),
                    "settings": quantiles(writes),
                    "peak_mb": round(peak, 1),
                }
        result["peak_mb"] = round(peak_memory_mb(), 1)
    finally:
        await db.close()
    return result


def report(result: dict[str, Any]) -> None:
    size = result["size"]
    print(f"\n{size:,} subscribers (batch {result['batch']}), idle: {result['idle']}")
    for name in result["cases"]:
        case = result[name]
        line = (
            f"  {name}: {case['deliveries']:,} deliveries in {case['total_s']} s,"
            f" {case['transactions']} transactions, hold {case['hold_ms']},"
            f" CPU {case['hold_cpu_ms']}, server CPU {case['server_cpu_ms']}"
            f" (load average {case['load_average']})"
        )
        print(line)
        print(
            f"    during it: /latest {case['latest']}, settings change {case['settings']},"
            f" peak memory {case['peak_mb']} MB ({case['growth_mb']:+} MB during it)"
        )
        if "one transaction" in case:
            print(f"    in one transaction instead: {case['one transaction']}")
    print(
        f"  peak memory (VmHWM) of the process in all: {result['peak_mb']} MB"
        f" ({result['rss_open_mb']:.1f} MB after opening the database)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a folder for SQLite files, or a database URL")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--batch", type=int, help="chats a batch (default: the backend's)")
    parser.add_argument("--no-single", action="store_true", help="skip the one-transaction run")
    parser.add_argument("--broadcast", action="store_true", help="measure a /broadcast")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.measure is not None:
        result = asyncio.run(
            measure(
                database_for(args.database, args.measure),
                args.measure,
                args.batch,
                not args.no_single,
                args.broadcast,
            )
        )
        print(json.dumps(result))
        return
    with contextlib.ExitStack() as stack:
        if args.database and is_url(args.database):
            target = stack.enter_context(scratch_schema(args.database))
        else:
            target = args.database or stack.enter_context(
                tempfile.TemporaryDirectory(prefix="ajil-fanout-")
            )
        for size in (int(s) for s in args.sizes.split(",")):
            started = time.perf_counter()
            if not is_url(target):
                Path(database_for(target, size)).unlink(missing_ok=True)
            asyncio.run(prepare(target, size))
            print(f"{size:,} subscribers prepared in {time.perf_counter() - started:.0f} s")
            child = [sys.executable, "-m", "bench.bench_fanout", "--database", target]
            child += ["--measure", str(size)]
            if args.batch:
                child += ["--batch", str(args.batch)]
            if args.no_single:
                child.append("--no-single")
            if args.broadcast:
                child.append("--broadcast")
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            report(json.loads(out.strip().splitlines()[-1]))
            if not is_url(target):
                Path(database_for(target, size)).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
