"""An alert's fan-out: its deliveries written in batches of short transactions.

One statement for a whole audience held SQLite's only writer for 4 to 9 s at 1M subscribers,
and every /subscribe or settings change waited behind it (issue 16, point 5). Here the
subscribers are walked in keyset order of chat id, `BATCH` chats per transaction (by backend):

- `enqueue_alert`, inside the poll's transaction, writes the first batch and, when the audience
  is larger, a `fanouts` row with the cursor (the last chat id walked). The item and its
  fan-out are one commit: a crash loses neither.
- `step` walks the next batch of the most pressing fan-out (urgent first, then the one whose
  next batch would go soonest), moving the cursor in the same transaction as the deliveries:
  a crash between two steps resumes at the cursor, and a batch done twice adds nothing
  (UNIQUE (chat_id, item_id)). Only one walker at a time: the leader's (bot/alerts/fanout.py).

Each delivery carries `queue_at`, the millisecond at which it would go if its alert had the
sender to itself: the alert's time for its first batch, each next batch later by the batch's
deliveries over the sender's rate. The sender takes the pending deliveries by (priority,
queue_at, id), so an alert arriving while another is still going out is not queued behind the
other's tail: from its first batch on, the two share the sender in turns.

A broadcast to every active subscriber (an admin's notice, `enqueue_broadcast`) walks the same
way, its cursor in `notice_fanouts`: the first batch in the broadcast's transaction, the rest
by `step`, which takes alerts and broadcasts in one order (urgent first, then `queue_at`).

Who gets an alert is decided when the walk reaches the chat, by the subscriber's settings then
(a chat that unsubscribed or added a keyword meanwhile is respected). The SQL is the one both
SQLite and PostgreSQL read (`instr` is rewritten to `strpos` by the PostgreSQL backend).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.database import Database
from storage.dialect import POSTGRESQL, SQLITE
from storage.models import FanOutProgress, FanOutStep, to_epoch

# Chats walked per transaction, by backend. SQLite: at 1M subscribers one chat costs 4 to 9 µs
# in the insert, so 2,000 hold the writer for some 10 to 30 ms. PostgreSQL: some 25 µs of the
# server's CPU a chat (four index probes, four index entries, three foreign-key checks), so
# 1,000 for 25 to 30 ms. Both far below the 100 ms a command may wait, whatever the audience
# (docs/BENCHMARKS.md), and few enough transactions that a 1M fan-out ends in seconds.
BATCH = {SQLITE: 2000, POSTGRESQL: 1000}
# Below every Telegram chat id (users are positive, groups and channels negative).
FIRST_CHAT = -(2**63)

_QUIET = (
    "(s.quiet_start IS NOT NULL AND s.quiet_end IS NOT NULL AND ("
    " (s.quiet_start < s.quiet_end AND :minute >= s.quiet_start AND :minute < s.quiet_end)"
    " OR (s.quiet_start > s.quiet_end AND (:minute >= s.quiet_start OR :minute < s.quiet_end))))"
)

# Who gets the item among the chats of one batch; {family} is the story's items, {upto} the
# batch's upper bound. Parameters are cast where nothing else gives PostgreSQL their type.
_WALK = f"""
    INSERT INTO deliveries
        (item_id, chat_id, priority, queue_at, not_before, created_at, updated_at)
    SELECT CAST(:item AS INTEGER), q.chat_id, CAST(:priority AS INTEGER),
           CAST(:queue_at AS INTEGER),
           CASE WHEN q.quiet = 1
                THEN CAST(:minute_start AS INTEGER)
                     + ((q.quiet_end - CAST(:minute AS INTEGER) + 1440) % 1440) * 60
                ELSE CAST(:now AS INTEGER) END,
           CAST(:now AS INTEGER), CAST(:now AS INTEGER)
    FROM (
        SELECT s.chat_id, s.quiet_end, s.quiet_to_digest,
               CASE WHEN {_QUIET} THEN 1 ELSE 0 END AS quiet
        FROM subscribers s
        WHERE s.chat_id > :after {{upto}}
          AND s.active = 1 AND s.alert_level IN (:level_a, :level_b)
          AND (SELECT count(*) FROM subscriber_sources ss
               WHERE ss.chat_id = s.chat_id AND ss.source_id = :source AND ss.enabled = 0) = 0
          AND ((SELECT count(*) FROM subscriber_filters f WHERE f.chat_id = s.chat_id) = 0
               OR (SELECT count(*) FROM subscriber_filters f
                   WHERE f.chat_id = s.chat_id AND instr(:text, f.word) > 0) > 0)
          AND (SELECT count(*) FROM deliveries d
               WHERE d.chat_id = s.chat_id AND d.item_id IN ({{family}})
                 AND d.created_at >= :since) = 0
    ) q
    WHERE NOT (q.quiet = 1 AND q.quiet_to_digest = 1)
    ON CONFLICT (chat_id, item_id) DO NOTHING
"""

_FANOUT_COLUMNS = (
    "item_id, source_id, urgent, story_id, body, story_window, rate, after_chat, next_queue_at"
)


@dataclass(frozen=True)
class _Alert:
    """What a batch needs to know of its alert (a `fanouts` row)."""

    item_id: int
    source_id: int
    urgent: bool
    story_id: int
    text: str
    story_window: int
    rate: float


# pg_advisory_xact_lock key held by a transaction that stores new items and enqueues their
# alerts (storage.postgres's migration lock is another key).
NEWS_LOCK = 0x616A696C_6E657773  # "ajilnews"


async def one_news_writer(db: Database) -> None:
    """Inside a transaction: wait until no other worker's transaction stores news, and keep
    the others waiting until this one ends. Two workers storing items of the same story at
    once would each miss the other's uncommitted rows, in the recent-stories index and in the
    outbox's one-alert-per-story rule. On PostgreSQL a transaction-level advisory lock; on
    SQLite nothing to do: the write transaction already holds the whole file."""
    if db.dialect != POSTGRESQL:
        return
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))", (NEWS_LOCK,))


async def enqueue_alert(
    db: Database,
    *,
    item_id: int,
    source_id: int,
    urgent: bool,
    story_id: int | None,
    text: str,
    now: datetime,
    local_minute: int,
    story_window: int,
    rate: float,
    batch: int | None = None,
) -> int:
    """Start the fan-out of one new item: its first `batch` chats now, the rest by `step`.

    Returns how many deliveries the first batch added (every one, when the audience fits in
    it). Joins the caller's transaction, so the item, its first deliveries and the fan-out's
    cursor commit together.

    A subscriber gets the item when active; its alert level takes this item ("urgent" takes
    urgent items, "all" takes every new headline, "digest" none); it has not switched the
    source off; it has no keyword filter or one of its (normalized) words is in `text`; and
    it was not sent another item of the same story (`story_id`, the story's first item, or
    this item when None) in the last `story_window` seconds. A subscriber in quiet hours gets
    the delivery when they end, unless it chose to have those items in its digest instead.
    `local_minute` is the current minute after local midnight; `rate` the sender's messages
    per second, which spaces the batches' `queue_at`. `batch`: chats in the first batch, and
    at most the backend's `BATCH` when None.
    """
    alert = _Alert(
        item_id=item_id,
        source_id=source_id,
        urgent=urgent,
        story_id=item_id if story_id is None else story_id,
        text=text,
        story_window=story_window,
        rate=rate,
    )
    stamp = to_epoch(now)
    queue_at = round(now.timestamp() * 1000)
    async with db.transaction() as conn:
        await one_news_writer(db)  # held already when the caller stored the item under it
        upto, more = await _upper_bound(conn, FIRST_CHAT, batch or batch_size(db))
        added = await _walk(conn, alert, FIRST_CHAT, upto, queue_at, stamp, local_minute)
        if more:
            await conn.execute(
                f"INSERT INTO fanouts ({_FANOUT_COLUMNS}, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (item_id) DO NOTHING",
                (
                    alert.item_id,
                    alert.source_id,
                    int(alert.urgent),
                    alert.story_id,
                    alert.text,
                    alert.story_window,
                    alert.rate,
                    upto,
                    _next(queue_at, added, rate),
                    stamp,
                ),
            )
    return added


async def enqueue_broadcast(
    db: Database,
    notice_id: int,
    *,
    priority: int,
    now: datetime,
    rate: float,
    batch: int | None = None,
) -> int:
    """Start delivering notice `notice_id` to every active subscriber: its first `batch`
    chats now, the rest by `step`. Returns how many deliveries the first batch added.

    Joins the caller's transaction, so the notice, its first deliveries and its cursor
    commit together. A chat is reached when active at the time the walk reaches it; a chat
    that already has the notice is skipped (UNIQUE (chat_id, notice_id)), so starting the
    same notice twice adds nothing. `priority`: the deliveries' (storage.models.Priority).
    `rate`: the sender's messages per second, which spaces the batches' `queue_at`.
    `batch`: chats in the first batch, the backend's `BATCH` when None."""
    queue_at = round(now.timestamp() * 1000)
    stamp = to_epoch(now)
    async with db.transaction() as conn:
        upto, more = await _upper_bound(conn, FIRST_CHAT, batch or batch_size(db))
        added = await _walk_notice(conn, notice_id, priority, FIRST_CHAT, upto, queue_at, stamp)
        if more:
            await conn.execute(
                "INSERT INTO notice_fanouts"
                " (notice_id, priority, rate, after_chat, next_queue_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (notice_id) DO NOTHING",
                (notice_id, priority, rate, upto, _next(queue_at, added, rate), stamp),
            )
    return added


# Alerts' and broadcasts' unfinished fan-outs in the order `step` walks them: urgent first,
# then the one whose next batch would go soonest; an alert before a broadcast at a tie.
_NEXT = """
    SELECT 0, item_id, urgent, next_queue_at FROM fanouts
    UNION ALL
    SELECT 1, notice_id, CASE WHEN priority = 0 THEN 1 ELSE 0 END, next_queue_at
    FROM notice_fanouts
    ORDER BY 3 DESC, 4, 1, 2 LIMIT 1
"""


async def step(
    db: Database,
    *,
    now: datetime,
    local_minute: int,
    batch: int | None = None,
    leader: str | None = None,
) -> FanOutStep | None:
    """Walk the next batch of the most pressing unfinished fan-out; None when none is left.

    Urgent alerts first, then the one whose next batch would go soonest (`queue_at`). The
    cursor moves before the batch is written, in the same transaction: a crash resumes at the
    batch, and a second walker that read the same cursor changes no row and adds nothing.
    With `leader` (a worker's name) the cursor moves only while that worker holds the leader
    lease (storage.leases) at `now`, as `outbox.claim_due(leader_only=True)` claims: a
    deposed leader's walker writes nothing more, so that two walkers never run the one alert
    per story rule at once. A step that wrote nothing for either reason says `refused`.
    `now` and `local_minute` decide quiet hours and the story window as `enqueue_alert`
    says, at the time the chats are reached. `batch`: chats walked, the backend's `BATCH`
    when None.
    """
    stamp = to_epoch(now)
    fence = (
        ""
        if leader is None
        else " AND EXISTS (SELECT 1 FROM leases WHERE name = 'leader' AND holder = ?"
        " AND expires_at > ?)"
    )
    fenced = () if leader is None else (leader, stamp)
    # Serial, as the polls whose transactions start fan-outs (bot.alerts.watcher): the one
    # alert per story rule reads the deliveries they write.
    async with db.transaction(serial=True) as conn:
        # A follower's poll may be writing an alert's first batch (bot.sharing).
        await one_news_writer(db)
        cursor = await conn.execute(_NEXT)
        first = await cursor.fetchone()
        if first is None:
            return None
        if int(first[0]) == 1:
            return await _step_notice(
                conn, int(first[1]), stamp, batch or batch_size(db), fence, fenced
            )
        cursor = await conn.execute(
            f"SELECT {_FANOUT_COLUMNS} FROM fanouts WHERE item_id = ?", (int(first[1]),)
        )
        row = await cursor.fetchone()
        if row is None:
            return None
        alert = _Alert(
            item_id=row[0],
            source_id=row[1],
            urgent=bool(row[2]),
            story_id=row[3],
            text=row[4],
            story_window=row[5],
            rate=float(row[6]),
        )
        after, queue_at = int(row[7]), int(row[8])
        upto, more = await _upper_bound(conn, after, batch or batch_size(db))
        if not more:
            cursor = await conn.execute(
                f"DELETE FROM fanouts WHERE item_id = ? AND after_chat = ?{fence}",
                (alert.item_id, after, *fenced),
            )
        else:
            # next_queue_at is set once the batch's size is known, below.
            cursor = await conn.execute(
                f"UPDATE fanouts SET after_chat = ? WHERE item_id = ? AND after_chat = ?{fence}",
                (upto, alert.item_id, after, *fenced),
            )
        if cursor.rowcount != 1:
            # Another walker took this batch, or `leader` no longer leads.
            return FanOutStep(alert.item_id, 0, done=False, refused=True)
        added = await _walk(conn, alert, after, upto, queue_at, stamp, local_minute)
        if more:
            await conn.execute(
                "UPDATE fanouts SET next_queue_at = ? WHERE item_id = ?",
                (_next(queue_at, added, alert.rate), alert.item_id),
            )
    return FanOutStep(alert.item_id, added, done=not more)


async def unfinished(db: Database) -> int:
    """How many alerts and broadcasts are still being fanned out."""
    rows = await db.reader.execute_fetchall(
        "SELECT (SELECT count(*) FROM fanouts) + (SELECT count(*) FROM notice_fanouts)"
    )
    return int(rows[0][0])


async def unfinished_notice(db: Database, notice_id: int) -> bool:
    """Whether the broadcast of notice `notice_id` still has chats to walk."""
    rows = await db.reader.execute_fetchall(
        "SELECT count(*) FROM notice_fanouts WHERE notice_id = ?", (notice_id,)
    )
    return int(rows[0][0]) > 0


async def progress(db: Database) -> FanOutProgress:
    """The unfinished fan-outs (alerts' and broadcasts') and the chats they have left to walk, for /stats.

    A read (no writer waits for it) counting the subscribers past each cursor: 0.27-0.30 s an
    alert whose cursor is at the start or the middle of 1M subscribers on PostgreSQL, at load
    average 11 on 2 shared cores (psql, the bench's 1M schema): fine for an admin's /stats."""
    rows = await db.reader.execute_fetchall(
        "SELECT 0, (SELECT count(*) FROM subscribers s WHERE s.chat_id > f.after_chat)"
        " FROM fanouts f"
        " UNION ALL SELECT 1, (SELECT count(*) FROM subscribers s WHERE s.chat_id > n.after_chat)"
        " FROM notice_fanouts n"
    )
    broadcasts = sum(1 for row in rows if row[0])
    return FanOutProgress(len(rows) - broadcasts, sum(int(row[1]) for row in rows), broadcasts)


def batch_size(db: Database) -> int:
    """Chats a batch of `db`'s backend walks (`BATCH`)."""
    return BATCH[db.dialect]


def _next(queue_at: int, added: int, rate: float) -> int:
    """The next batch's queue_at: after this batch's deliveries at `rate` a second."""
    return queue_at + max(1, round(added * 1000 / rate))


async def _upper_bound(conn: Any, after: int, batch: int) -> tuple[int | None, bool]:
    """The batch after `after`: (its last chat id, None for every chat left; whether chats
    remain after it). Inactive chats count too: walking the primary key is what keeps a
    batch short."""
    cursor = await conn.execute(
        "SELECT chat_id FROM subscribers WHERE chat_id > ? ORDER BY chat_id LIMIT 2 OFFSET ?",
        (after, batch - 1),
    )
    rows = await cursor.fetchall()
    return (int(rows[0][0]) if rows else None), len(rows) == 2


async def _walk(
    conn: Any, alert: _Alert, after: int, upto: int | None, queue_at: int, stamp: int, minute: int
) -> int:
    """Write the deliveries of the chats after `after` up to `upto` (None: to the last);
    returns how many were added."""
    cursor = await conn.execute(
        "SELECT id FROM items WHERE id = ? OR story_id = ?", (alert.story_id, alert.story_id)
    )
    family = [int(r[0]) for r in await cursor.fetchall()] or [alert.story_id]
    levels = ("urgent", "all") if alert.urgent else ("all",)
    params: dict[str, Any] = {
        "item": alert.item_id,
        "source": alert.source_id,
        "priority": 0 if alert.urgent else 1,
        "queue_at": queue_at,
        "now": stamp,
        "minute": minute,
        "minute_start": stamp - stamp % 60,
        "text": alert.text,
        "since": stamp - alert.story_window,
        "level_a": levels[0],
        "level_b": levels[-1],
        "after": after,
    }
    marks = []
    for n, member in enumerate(family):
        params[f"family{n}"] = member
        marks.append(f":family{n}")
    bound = ""
    if upto is not None:
        params["upto"] = upto
        bound = "AND s.chat_id <= :upto"
    sql = _WALK.format(upto=bound, family=", ".join(marks))
    cursor = await conn.execute(sql, params)
    return max(int(cursor.rowcount), 0)


async def _step_notice(
    conn: Any, notice_id: int, stamp: int, batch: int, fence: str, fenced: tuple[Any, ...]
) -> FanOutStep:
    """`step` for a broadcast's fan-out (`notice_fanouts`), inside its transaction: the
    cursor moves (or the row goes, at the last batch) before the batch is written."""
    cursor = await conn.execute(
        "SELECT priority, rate, after_chat, next_queue_at FROM notice_fanouts WHERE notice_id = ?",
        (notice_id,),
    )
    row = await cursor.fetchone()
    priority, rate, after, queue_at = int(row[0]), float(row[1]), int(row[2]), int(row[3])
    upto, more = await _upper_bound(conn, after, batch)
    if not more:
        cursor = await conn.execute(
            f"DELETE FROM notice_fanouts WHERE notice_id = ? AND after_chat = ?{fence}",
            (notice_id, after, *fenced),
        )
    else:
        cursor = await conn.execute(
            "UPDATE notice_fanouts SET after_chat = ?"
            f" WHERE notice_id = ? AND after_chat = ?{fence}",
            (upto, notice_id, after, *fenced),
        )
    if cursor.rowcount != 1:
        return FanOutStep(notice_id, 0, done=False, refused=True, notice=True)
    added = await _walk_notice(conn, notice_id, priority, after, upto, queue_at, stamp)
    if more:
        await conn.execute(
            "UPDATE notice_fanouts SET next_queue_at = ? WHERE notice_id = ?",
            (_next(queue_at, added, rate), notice_id),
        )
    return FanOutStep(notice_id, added, done=not more, notice=True)


async def _walk_notice(
    conn: Any,
    notice_id: int,
    priority: int,
    after: int,
    upto: int | None,
    queue_at: int,
    stamp: int,
) -> int:
    """Write the notice's deliveries to the active chats after `after` up to `upto` (None:
    to the last); returns how many were added."""
    bound = "" if upto is None else " AND chat_id <= ?"
    cursor = await conn.execute(
        "INSERT INTO deliveries (notice_id, chat_id, priority, queue_at, not_before,"
        " created_at, updated_at)"
        " SELECT CAST(? AS INTEGER), chat_id, CAST(? AS INTEGER), CAST(? AS INTEGER),"
        " CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER) FROM subscribers"
        f" WHERE chat_id > ?{bound} AND active = 1"
        " ON CONFLICT (chat_id, notice_id) WHERE notice_id IS NOT NULL DO NOTHING",
        (
            notice_id,
            priority,
            queue_at,
            stamp,
            stamp,
            stamp,
            after,
            *(() if upto is None else (upto,)),
        ),
    )
    return max(int(cursor.rowcount), 0)
