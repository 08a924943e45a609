"""Storage benchmarks: bulk outbox enqueue and the headline query behind /latest.

Run: python -m bench.bench_storage
Goals (docs/BENCHMARKS.md): 100,000 deliveries enqueued in under 0.5 s; /latest on 50,000
items in under 5 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import Database, items, outbox, sources, subscribers
from storage.models import NewDelivery, NewItem, Priority
from storage.sources import SourceSpec

SUBSCRIBERS = 100_000
ITEMS = 50_000


async def bench(folder: Path) -> None:
    db = await Database.open(folder / "bench.db")
    try:
        names = [SourceSpec(f"site{n}", f"https://site{n}.ma/", "rss") for n in range(6)]
        states = await sources.sync(db, names)
        await subscribers.add_many(db, ((n, "private", "ar") for n in range(1, SUBSCRIBERS + 1)))

        now = datetime.now(UTC)
        batch = [
            NewItem(
                uid=f"https://site.ma/{n}",
                source_id=states[n % len(states)].id,
                url=f"https://site.ma/{n}",
                title=f"عنوان الخبر رقم {n} من الموقع",
                normalized_title=f"عنوان الخبر رقم {n} من الموقع",
                published_at=now - timedelta(seconds=n * 30),
                fetched_at=now,
                urgent=n % 10 == 0,
            )
            for n in range(ITEMS)
        ]
        started = time.perf_counter()
        await items.insert_many(db, batch)
        print(f"insert {ITEMS:,} items (with FTS): {time.perf_counter() - started:.3f} s")

        first, second = (await items.latest(db, limit=2))[:2]

        started = time.perf_counter()
        count = await outbox.enqueue_for_active(db, first.id, Priority.URGENT)
        elapsed = time.perf_counter() - started
        print(f"enqueue_for_active: {count:,} deliveries in {elapsed:.3f} s (goal < 0.5 s)")

        chosen = [NewDelivery(second.id, n, Priority.URGENT) for n in range(1, SUBSCRIBERS + 1)]
        started = time.perf_counter()
        count = await outbox.enqueue(db, chosen)
        elapsed = time.perf_counter() - started
        print(f"enqueue (executemany): {count:,} deliveries in {elapsed:.3f} s (goal < 0.5 s)")

        for label, urgent_only in (("/latest", False), ("/urgent", True)):
            timings = []
            for _ in range(200):
                started = time.perf_counter()
                rows = await items.latest(db, limit=20, urgent_only=urgent_only)
                timings.append((time.perf_counter() - started) * 1000)
            assert len(rows) == 20
            timings.sort()
            print(
                f"{label} query, 20 of {ITEMS:,} items: p50 {statistics.median(timings):.2f} ms,"
                f" p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms (goal < 5 ms)"
            )
    finally:
        await db.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(bench(Path(folder)))


if __name__ == "__main__":
    main()
