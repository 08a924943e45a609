"""Storage benchmarks: the outbox on the product's path, and the headline query behind /latest.

The outbox is driven exactly as the product drives it: `fanout.enqueue_alert` and the fan-out
walker's `fanout.step` batches (bot/alerts/watcher.py, bot/alerts/fanout.py; bench_fanout.py
times each batch), `enqueue_notice` (/broadcast), then `claim_due` and `record_outcomes` (bot/alerts/sender.py).

Run: python -m bench.bench_storage
Goals (docs/BENCHMARKS.md): an alert or a broadcast enqueued for 100,000 subscribers in under
0.5 s; the outbox drained by claims and outcomes far faster than the paid broadcast rate
(1,000 messages/s); /latest on 50,000 items in under 5 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts.sender import SenderSettings
from storage import Database, fanout, items, notices, outbox, sources, subscribers
from storage.models import DeliveryOutcome, DeliveryState, NewItem, Priority, StoredItem
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

        async def alert(item: StoredItem, story_id: int | None) -> tuple[int, float]:
            started = time.perf_counter()
            count = await fanout.enqueue_alert(
                db,
                item_id=item.id,
                source_id=item.source_id,
                urgent=True,
                story_id=story_id,
                text=item.title,
                now=datetime.now(UTC),
                local_minute=600,
                story_window=24 * 3600,
                rate=30.0,
            )
            # The rest of the audience, batch after batch, as the walker writes it.
            while done := await fanout.step(db, now=datetime.now(UTC), local_minute=600):
                count += done.added
            return count, time.perf_counter() - started

        count, elapsed = await alert(first, None)
        print(f"enqueue_alert, a new story: {count:,} deliveries in {elapsed:.3f} s (goal < 0.5 s)")
        count, elapsed = await alert(second, first.id)
        print(
            f"enqueue_alert, the same story again: {count:,} deliveries in {elapsed:.3f} s"
            f" ({SUBSCRIBERS:,} chats checked for the story; goal < 0.5 s)"
        )
        notice = await notices.create(db, "broadcast", "صيانة مجدولة الليلة")
        started = time.perf_counter()
        count = await outbox.enqueue_notice(db, notice, None, Priority.NORMAL)
        # The rest of the audience, batch after batch, as the walker writes it.
        while done := await fanout.step(db, now=datetime.now(UTC), local_minute=600):
            count += done.added
        elapsed = time.perf_counter() - started
        print(
            f"enqueue_notice, a broadcast: {count:,} deliveries in {elapsed:.3f} s (goal < 0.5 s)"
        )

        # The sender at the paid rate claims half a second of sending (500) at a time and
        # writes each window's outcomes back in one batch.
        window = SenderSettings(rate=1000, paid=True, zone=UTC, expire_after=timedelta(1)).window
        drained = claims = 0
        started = time.perf_counter()
        while batch_of := await outbox.claim_due(db, window, datetime.now(UTC)):
            claims += 1
            drained += len(batch_of)
            await outbox.record_outcomes(
                db,
                [
                    DeliveryOutcome(c.delivery_id, DeliveryState.SENT, 1, message_id=n)
                    for n, c in enumerate(batch_of)
                ],
            )
        elapsed = time.perf_counter() - started
        print(
            f"claim_due + record_outcomes: {drained:,} deliveries in {claims:,} claims of"
            f" {window} in {elapsed:.2f} s, {drained / elapsed:,.0f}/s (goal > 10,000/s)"
        )

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
