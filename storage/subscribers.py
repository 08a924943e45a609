"""Subscribers: the chats that receive alerts, with their language and alert preferences."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

from storage.database import Database
from storage.models import AlertLevel, ChatType, Language, Subscriber

_COLUMNS = (
    "chat_id, chat_type, language, active, alert_level, title, quiet_start, quiet_end, "
    "quiet_to_digest, digest_at, topic_id, deactivated_why"
)


def _subscriber(row: Sequence[Any]) -> Subscriber:
    return Subscriber(
        chat_id=row[0],
        chat_type=cast(ChatType, row[1]),
        language=cast(Language, row[2]),
        active=bool(row[3]),
        alert_level=cast(AlertLevel, row[4]),
        title=row[5],
        quiet_start=row[6],
        quiet_end=row[7],
        quiet_to_digest=bool(row[8]),
        digest_at=row[9],
        topic_id=row[10],
        deactivated_why=row[11],
    )


async def subscribe(
    db: Database,
    chat_id: int,
    chat_type: ChatType,
    language: Language = "ar",
    title: str | None = None,
) -> Subscriber:
    """Add the chat, or switch an existing one back on keeping its preferences."""
    now = int(time.time())
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO subscribers (chat_id, chat_type, language, title, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET active = 1, deactivated_why = NULL,"
            " chat_type = excluded.chat_type, title = excluded.title, updated_at = excluded.updated_at",
            (chat_id, chat_type, language, title, now, now),
        )
        cursor = await conn.execute(
            f"SELECT {_COLUMNS} FROM subscribers WHERE chat_id = ?", (chat_id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return _subscriber(row)


async def add_many(db: Database, chats: Iterable[tuple[int, ChatType, Language]]) -> int:
    """Insert many subscribers at once (imports, benchmarks); existing chats are left alone."""
    now = int(time.time())
    async with db.transaction() as conn:
        before = conn.total_changes
        await conn.executemany(
            "INSERT INTO subscribers (chat_id, chat_type, language, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO NOTHING",
            ((chat_id, kind, lang, now, now) for chat_id, kind, lang in chats),
        )
        return conn.total_changes - before


async def get(db: Database, chat_id: int) -> Subscriber | None:
    cursor = await db.reader.execute(
        f"SELECT {_COLUMNS} FROM subscribers WHERE chat_id = ?", (chat_id,)
    )
    row = await cursor.fetchone()
    return _subscriber(row) if row else None


async def deactivate(db: Database, chat_ids: Sequence[int], why: str) -> int:
    """Stop alerting these chats (unsubscribed, blocked the bot, deleted account...)."""
    now = int(time.time())
    async with db.transaction() as conn:
        before = conn.total_changes
        await conn.executemany(
            "UPDATE subscribers SET active = 0, deactivated_why = ?, updated_at = ?"
            " WHERE chat_id = ? AND active = 1",
            ((why, now, chat_id) for chat_id in chat_ids),
        )
        return conn.total_changes - before


async def count(db: Database) -> tuple[int, int]:
    """(all subscribers, active ones)."""
    cursor = await db.reader.execute("SELECT count(*), coalesce(sum(active), 0) FROM subscribers")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
