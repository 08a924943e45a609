"""The outbox: deliveries of items to chats, enqueued in bulk and drained by the sender."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from storage import fanout
from storage.database import Database
from storage.items import ITEM_COLUMNS, item_from_row
from storage.models import (
    ChatType,
    Claim,
    DeliveryOutcome,
    DeliveryState,
    Language,
    from_epoch,
    to_epoch,
)


async def record_outcomes(
    db: Database, outcomes: Sequence[DeliveryOutcome], worker: str | None = None
) -> None:
    """Write a batch of sender results in one transaction.

    With `worker`, only rows that worker still has claimed are written: once another worker
    has claimed a row again (it took the lead from this one), this one's late results must not
    put the row back in the queue or overwrite what the new claimer records.
    """
    if not outcomes:
        return
    now = int(time.time())
    fence = "" if worker is None else " AND claimed_by = ?"
    tail = () if worker is None else (worker,)
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE deliveries SET state = ?, attempts = ?, last_error = ?,"
            " message_id = coalesce(?, message_id), not_before = coalesce(?, not_before),"
            f" updated_at = ? WHERE id = ?{fence}",
            [
                (
                    o.state.value,
                    o.attempts,
                    o.last_error,
                    o.message_id,
                    to_epoch(o.not_before) if o.not_before else None,
                    now,
                    o.delivery_id,
                    *tail,
                )
                for o in outcomes
            ],
        )


# The sender's rate (messages per second) a broadcast's batches are spaced by when the caller
# does not say: the default `[alerts] messages_per_second`.
BROADCAST_RATE = 25.0


async def enqueue_notice(
    db: Database,
    notice_id: int,
    chat_ids: Sequence[int] | None,
    priority: int,
    *,
    rate: float = BROADCAST_RATE,
    batch: int | None = None,
) -> int:
    """Deliver a notice to these chats, or to every active subscriber when None; returns the
    deliveries added now.

    To every subscriber it is a fan-out in batches (storage.fanout.enqueue_broadcast): the
    first `batch` chats in this transaction, the rest by the leader's walker, `rate` (the
    sender's messages per second) spacing the batches' queue order."""
    if chat_ids is None:
        return await fanout.enqueue_broadcast(
            db, notice_id, priority=priority, now=datetime.now(UTC), rate=rate, batch=batch
        )
    now = int(time.time())
    async with db.transaction() as conn:
        return await conn.executemany(
            "INSERT INTO deliveries (notice_id, chat_id, priority, queue_at, not_before,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, notice_id) WHERE notice_id IS NOT NULL DO NOTHING",
            [(notice_id, chat_id, priority, now * 1000, now, now, now) for chat_id in chat_ids],
        )


# How long a claim holds when its holder is not known to be gone: far longer than the sender
# keeps a claim (half a second of sending, a 429's pause), so only an abandoned one expires.
CLAIM_SECONDS = 120


def _claim_ids_sql(leader_only: bool) -> str:
    """The statement that marks due deliveries as claimed and returns their ids.

    The rows are picked by (priority, queue_at, id), the order of the queue's index
    `deliveries_queue`: urgent first, then when each would go if its alert had the sender to
    itself (storage/fanout.py), so that a second alert's first batch goes before the first
    alert's tail. On PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`
    (storage.dialect drops it on SQLite, whose one writer needs none), so that claimers never
    wait on each other's rows (one sender claims today; sources spread over workers, issue 16
    point 4, may bring more). `leader_only` makes the claim itself fenced: it takes nothing
    unless the claimer holds an unexpired leader lease at that moment.
    """
    fence = (
        " AND EXISTS (SELECT 1 FROM leases WHERE name = 'leader' AND holder = :worker"
        " AND expires_at > :now)"
        if leader_only
        else ""
    )
    return (
        "UPDATE deliveries SET state = 'sending', claimed_by = :worker, claim_expires_at = :until"
        " WHERE id IN ("
        " SELECT id FROM deliveries WHERE state = 'pending' AND not_before <= :now"
        f" ORDER BY priority, queue_at, id LIMIT :limit FOR UPDATE SKIP LOCKED){fence}"
        " RETURNING id"
    )


async def claim_due(
    db: Database,
    limit: int,
    now: datetime,
    *,
    worker: str = "",
    leader_only: bool = False,
    claim_seconds: int = CLAIM_SECONDS,
) -> list[Claim]:
    """Take up to `limit` due deliveries for sending (state 'sending'): urgent first, then by
    `queue_at` (an alert's batches in turn with another's, storage/fanout.py), oldest first;
    the claims are returned in that order.

    Each claimed row names `worker` and holds until `now + claim_seconds`. With `leader_only`
    nothing is taken unless `worker` holds the leader lease (storage.leases) at `now`: a
    leader that lost its lease (paused, cut off) claims nothing more. A crash leaves the rows in
    'sending'; `requeue_claims` by the next sender (this process restarted, or the worker that
    took the lead) sends them again, which bounds duplicates by the claim size.
    """
    stamp = to_epoch(now)
    async with db.transaction() as conn:
        cursor = await conn.execute(
            _claim_ids_sql(leader_only),
            {"worker": worker, "until": stamp + claim_seconds, "now": stamp, "limit": limit},
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


async def requeue_claims(db: Database, now: datetime, gone: Sequence[str] = ()) -> int:
    """Put back deliveries left in 'sending' by a sender that is gone; returns how many.

    Gone are the claims of the workers named in `gone` (the leader this worker took over
    from, this worker's own earlier term), and every claim whose lease has expired at `now` or
    that names no worker (made before claims had leases). Claims a live worker still holds
    are left alone.
    """
    names = [name for name in gone if name]
    held_by = f" OR claimed_by IN ({','.join('?' * len(names))})" if names else ""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET state = 'pending' WHERE state = 'sending'"
            " AND (claimed_by IS NULL OR claim_expires_at IS NULL OR claim_expires_at <= ?"
            f"{held_by})",
            (to_epoch(now), *names),
        )
        return max(cursor.rowcount, 0)


async def break_item(
    db: Database,
    item_id: int,
    reason: str,
    refused: DeliveryOutcome | None = None,
    worker: str | None = None,
) -> int:
    """Stop every unsent delivery of an item whose message Telegram refuses (a content bug);
    how many were stopped.

    `refused` is the outcome of the delivery Telegram refused (state broken, its attempts,
    Telegram's reason): it is written in the same transaction, as `record_outcomes` writes it
    (fenced by `worker`), so that row carries its own try rather than being swept with the
    deliveries never tried, and it is not counted among the stopped. The item's fan-out, if
    its audience is still being walked, ends too: no later batch queues the refused message.
    """
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM fanouts WHERE item_id = ?", (item_id,))
        return await _break(db, "item_id = ?", (item_id,), reason, refused, worker)


async def break_notice(
    db: Database,
    kind: str,
    body: str,
    reason: str,
    refused: DeliveryOutcome | None = None,
    worker: str | None = None,
) -> int:
    """Stop every unsent delivery of the notices of this kind and text (a broadcast Telegram
    refuses), and the fan-out of those still being walked, so that no later batch queues the
    refused text again; how many were stopped. `refused`, `worker`: as for `break_item`."""
    notices = "SELECT id FROM notices WHERE kind = ? AND body = ?"
    async with db.transaction() as conn:
        await conn.execute(
            f"DELETE FROM notice_fanouts WHERE notice_id IN ({notices})", (kind, body)
        )
        return await _break(db, f"notice_id IN ({notices})", (kind, body), reason, refused, worker)


async def _break(
    db: Database,
    which: str,
    args: tuple[object, ...],
    reason: str,
    refused: DeliveryOutcome | None,
    worker: str | None,
) -> int:
    now = int(time.time())
    async with db.transaction() as conn:
        if refused is not None:
            await record_outcomes(db, [refused], worker)
        cursor = await conn.execute(
            "UPDATE deliveries SET state = 'broken', last_error = ?, updated_at = ?"
            f" WHERE state IN ('pending', 'sending') AND {which}",
            (reason[:300], now, *args),
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
