"""The outbox: deliveries of items to chats, enqueued in bulk and drained by the sender."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from storage.database import Database
from storage.items import ITEM_COLUMNS, item_from_row
from storage.models import (
    ChatType,
    Claim,
    Delivery,
    DeliveryOutcome,
    DeliveryState,
    Language,
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


async def enqueue_notice(
    db: Database, notice_id: int, chat_ids: Sequence[int] | None, priority: int
) -> int:
    """Deliver a notice to these chats, or to every active subscriber when None."""
    now = int(time.time())
    async with db.transaction() as conn:
        if chat_ids is None:
            cursor = await conn.execute(
                "INSERT INTO deliveries (notice_id, chat_id, priority, queue_at, not_before,"
                " created_at, updated_at) SELECT ?, chat_id, ?, ?, ?, ?, ? FROM subscribers"
                " WHERE active = 1"
                " ON CONFLICT (chat_id, notice_id) WHERE notice_id IS NOT NULL DO NOTHING",
                (notice_id, priority, now * 1000, now, now, now),
            )
            return max(cursor.rowcount, 0)
        before = conn.total_changes
        await conn.executemany(
            "INSERT INTO deliveries (notice_id, chat_id, priority, queue_at, not_before,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, notice_id) WHERE notice_id IS NOT NULL DO NOTHING",
            [(notice_id, chat_id, priority, now * 1000, now, now, now) for chat_id in chat_ids],
        )
        return conn.total_changes - before


async def claim_due(db: Database, limit: int, now: datetime) -> list[Claim]:
    """Take up to `limit` due deliveries for sending (state 'sending'): urgent first, then by
    `queue_at` (an alert's batches in turn with another's, storage/fanout.py), oldest first.

    A crash leaves them in 'sending'; `requeue_sending` at the next start sends them again,
    which bounds duplicates by the claim size.
    """
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET state = 'sending' WHERE id IN ("
            " SELECT id FROM deliveries WHERE state = 'pending' AND not_before <= ?"
            " ORDER BY priority, queue_at, id LIMIT ?) RETURNING id",
            (to_epoch(now), limit),
        )
        ids = [row[0] for row in await cursor.fetchall()]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        cursor = await conn.execute(
            f"SELECT d.id, d.chat_id, sb.chat_type, sb.language, sb.topic_id, d.priority,"
            f" d.attempts, n.kind, n.body, d.created_at, {ITEM_COLUMNS}"
            " FROM deliveries d JOIN subscribers sb ON sb.chat_id = d.chat_id"
            " LEFT JOIN items i ON i.id = d.item_id LEFT JOIN sources s ON s.id = i.source_id"
            " LEFT JOIN notices n ON n.id = d.notice_id"
            f" WHERE d.id IN ({marks}) ORDER BY d.priority, d.queue_at, d.id",
            ids,
        )
        rows = await cursor.fetchall()
    return [
        Claim(
            delivery_id=row[0],
            chat_id=row[1],
            chat_type=cast(ChatType, row[2]),
            language=cast(Language, row[3]),
            topic_id=row[4],
            priority=row[5],
            attempts=row[6],
            notice_kind=row[7],
            notice_body=row[8],
            created_at=from_epoch(row[9]),
            item=item_from_row(row[10:]) if row[10] is not None else None,
        )
        for row in rows
    ]


async def requeue_sending(db: Database) -> int:
    """Put back deliveries a crash left in 'sending'; returns how many."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET state = 'pending' WHERE state = 'sending'"
        )
        return max(cursor.rowcount, 0)


async def break_item(db: Database, item_id: int, reason: str) -> int:
    """Stop every unsent delivery of an item whose message Telegram refuses (a content bug)."""
    now = int(time.time())
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET state = 'broken', last_error = ?, updated_at = ?"
            " WHERE item_id = ? AND state IN ('pending', 'sending')",
            (reason[:300], now, item_id),
        )
        return max(cursor.rowcount, 0)


async def break_notice(db: Database, kind: str, body: str, reason: str) -> int:
    """Stop every unsent delivery of the notices of this kind and text (a broadcast Telegram
    refuses); how many were stopped."""
    now = int(time.time())
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET state = 'broken', last_error = ?, updated_at = ?"
            " WHERE state IN ('pending', 'sending') AND notice_id IN"
            " (SELECT id FROM notices WHERE kind = ? AND body = ?)",
            (reason[:300], now, kind, body),
        )
        return max(cursor.rowcount, 0)


async def pending_count(db: Database, now: datetime) -> int:
    """Deliveries due now and not yet sent: the sender's backlog."""
    cursor = await db.reader.execute(
        "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending') AND not_before <= ?",
        (to_epoch(now),),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def pending_summary(db: Database) -> tuple[int, datetime | None]:
    """(deliveries not yet sent, due or waiting for a retry; when the oldest was queued)."""
    cursor = await db.reader.execute(
        "SELECT count(*), min(created_at) FROM deliveries WHERE state IN ('pending', 'sending')"
    )
    row = await cursor.fetchone()
    if row is None:
        return 0, None
    return int(row[0]), from_epoch(row[1])


async def outcomes_since(db: Database, since: datetime) -> dict[DeliveryState, int]:
    """Deliveries by state among those updated since `since` (the /stats window)."""
    cursor = await db.reader.execute(
        "SELECT state, count(*) FROM deliveries WHERE updated_at >= ? GROUP BY state",
        (to_epoch(since),),
    )
    found = {DeliveryState(row[0]): int(row[1]) for row in await cursor.fetchall()}
    return {state: found.get(state, 0) for state in DeliveryState}
