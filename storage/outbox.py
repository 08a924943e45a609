"""The outbox: deliveries of items to chats, enqueued in bulk and drained by the sender."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.database import Database
from storage.models import (
    Delivery,
    DeliveryOutcome,
    DeliveryState,
    NewDelivery,
    from_epoch,
    to_epoch,
)

_COLUMNS = "id, item_id, chat_id, priority, state, attempts, not_before, last_error, message_id"


def _delivery(row: Sequence[Any]) -> Delivery:
    not_before = from_epoch(row[6])
    assert not_before is not None
    return Delivery(
        id=row[0],
        item_id=row[1],
        chat_id=row[2],
        priority=row[3],
        state=DeliveryState(row[4]),
        attempts=row[5],
        not_before=not_before,
        last_error=row[7],
        message_id=row[8],
    )


async def enqueue_for_active(
    db: Database, item_id: int, priority: int, not_before: datetime | None = None
) -> int:
    """One delivery of the item for every active subscriber, in one statement; returns the count.

    A chat that already has this item queued or sent is skipped, so enqueueing twice is harmless.
    """
    now = int(time.time())
    start = to_epoch(not_before) if not_before else now
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO deliveries (item_id, chat_id, priority, not_before, created_at, updated_at)"
            " SELECT ?, chat_id, ?, ?, ?, ? FROM subscribers WHERE active = 1"
            " ON CONFLICT (chat_id, item_id) DO NOTHING",
            (item_id, priority, start, now, now),
        )
        return max(cursor.rowcount, 0)


async def enqueue(db: Database, deliveries: Sequence[NewDelivery]) -> int:
    """Enqueue chosen deliveries in one transaction (one executemany); returns how many were new."""
    now = int(time.time())
    async with db.transaction() as conn:
        before = conn.total_changes
        await conn.executemany(
            "INSERT INTO deliveries (item_id, chat_id, priority, not_before, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, item_id) DO NOTHING",
            [
                (
                    d.item_id,
                    d.chat_id,
                    d.priority,
                    to_epoch(d.not_before) if d.not_before else now,
                    now,
                    now,
                )
                for d in deliveries
            ],
        )
        return conn.total_changes - before


async def due(db: Database, limit: int, now: datetime) -> list[Delivery]:
    """Pending deliveries that may go now: urgent before normal, oldest first."""
    cursor = await db.reader.execute(
        f"SELECT {_COLUMNS} FROM deliveries WHERE state = 'pending' AND not_before <= ?"
        " ORDER BY priority, id LIMIT ?",
        (to_epoch(now), limit),
    )
    return [_delivery(row) for row in await cursor.fetchall()]


async def record_outcomes(db: Database, outcomes: Sequence[DeliveryOutcome]) -> None:
    """Write a batch of sender results in one transaction."""
    if not outcomes:
        return
    now = int(time.time())
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET state = ?, attempts = ?, last_error = ?,"
            " message_id = coalesce(?, message_id), not_before = coalesce(?, not_before),"
            " updated_at = ? WHERE id = ?",
            [
                (
                    o.state.value,
                    o.attempts,
                    o.last_error,
                    o.message_id,
                    to_epoch(o.not_before) if o.not_before else None,
                    now,
                    o.delivery_id,
                )
                for o in outcomes
            ],
        )


async def counts(db: Database) -> dict[DeliveryState, int]:
    """How many deliveries are in each state."""
    cursor = await db.reader.execute("SELECT state, count(*) FROM deliveries GROUP BY state")
    found = {DeliveryState(row[0]): int(row[1]) for row in await cursor.fetchall()}
    return {state: found.get(state, 0) for state in DeliveryState}
