"""What a later update needs from an earlier one: the last list of headlines shown in a chat
(for `/summary N`) and each user's command pace (the per-user limit).

Kept in the database, not in a process's memory, so that any worker of a fleet answers the
next update the same way, and nothing is forgotten at a restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.database import Database


async def save_list(db: Database, chat_id: int, item_ids: list[int], now: int) -> None:
    """Remember `item_ids` (in the order shown) as the chat's last list; `now` in epoch seconds."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO chat_lists (chat_id, item_ids, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET item_ids = excluded.item_ids,"
            " updated_at = excluded.updated_at",
            (chat_id, json.dumps(item_ids), now),
        )


async def last_list(db: Database, chat_id: int) -> list[int]:
    """The item ids of the chat's last list, in the order shown; [] when it has none."""
    cursor = await db.reader.execute(
        "SELECT item_ids FROM chat_lists WHERE chat_id = ?", (chat_id,)
    )
    row = await cursor.fetchone()
    if row is None:
        return []
    return [int(item_id) for item_id in json.loads(row[0])]


@dataclass(frozen=True)
class Pace:
    """The verdict on one counted update: whether it may go on, and whether to tell the user
    to slow down (at most once a minute)."""

    allowed: bool
    warn: bool


async def pace_command(
    db: Database, user_id: int, now_ms: int, per_minute: int, can_warn: bool = True
) -> Pace:
    """Count one command (or button press, edit, inline query) of `user_id` at `now_ms` (epoch
    milliseconds) against `per_minute`: a burst of `per_minute` at once, then one every
    60/`per_minute` seconds (GCRA, the generic cell rate algorithm of ITU-T I.371: one
    timestamp per user). A refused update does not count.

    One statement (an upsert whose SET sees the row as it was), so two workers counting the
    same user at once cannot both let the 21st command through. `can_warn`: whether this
    update has a chat to say "slow down" in (an inline query has none): only then is a refused
    update's warning given, and counted as the minute's one.
    """
    step = 60_000 // per_minute
    tolerance = 60_000 - step
    # `due` is the user's theoretical arrival time, never in the past.
    due = "(CASE WHEN command_pace.due_at > :now THEN command_pace.due_at ELSE :now END)"
    over = f"({due} - :now > :tolerance)"
    warn = (
        f"({over} AND :can_warn = 1"
        " AND (command_pace.warned_at IS NULL OR command_pace.warned_at <= :warned_before))"
    )
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO command_pace (user_id, due_at, warned_at, allowed, warn)"
            " VALUES (:user, :first, NULL, 1, 0)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            f"  due_at = CASE WHEN {over} THEN command_pace.due_at ELSE {due} + :step END,"
            f"  allowed = CASE WHEN {over} THEN 0 ELSE 1 END,"
            f"  warn = CASE WHEN {warn} THEN 1 ELSE 0 END,"
            f"  warned_at = CASE WHEN {warn} THEN :now ELSE command_pace.warned_at END"
            " RETURNING allowed, warn",
            {
                "user": user_id,
                "now": now_ms,
                "step": step,
                "tolerance": tolerance,
                "can_warn": int(can_warn),
                # Computed here: PostgreSQL cannot type arithmetic on two bare parameters.
                "first": now_ms + step,
                "warned_before": now_ms - 60_000,
            },
        )
        row = await cursor.fetchone()
    assert row is not None  # an upsert without a WHERE always returns its row
    return Pace(bool(row[0]), bool(row[1]))
