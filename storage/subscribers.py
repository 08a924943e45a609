"""Subscribers: the chats that receive alerts, with their language and alert preferences."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from storage.database import Connection, Database
from storage.models import AlertLevel, ChatType, Language, Subscriber, from_epoch

_COLUMNS = (
    "chat_id, chat_type, language, active, alert_level, title, quiet_start, quiet_end, "
    "quiet_to_digest, digest_at, topic_id, deactivated_why, digest_sent_at"
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
        digest_sent_at=from_epoch(row[12]),
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
        found = await _written(conn, chat_id)
    assert found is not None
    return found


async def ensure(
    db: Database, chat_id: int, chat_type: ChatType, language: Language, title: str | None = None
) -> Subscriber:
    """The chat's record, created switched off if it has none (to keep its preferences)."""
    now = int(time.time())
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO subscribers (chat_id, chat_type, language, title, active, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (chat_id) DO NOTHING",
            (chat_id, chat_type, language, title, now, now),
        )
        # Locked until the caller's transaction ends (PostgreSQL; SQLite's one writer needs
        # no lock): a use case that reads the chat's filters or sources and then writes them
        # (bot.actions) runs one at a time per chat, as it did when every write transaction
        # of a process took its turn.
        found = await _written(conn, chat_id, lock=True)
    assert found is not None
    return found


async def _written(conn: Connection, chat_id: int, lock: bool = False) -> Subscriber | None:
    """The chat's record as the writer sees it: inside a caller's transaction the reader does
    not see the rows written so far, the writer does. `lock`: FOR NO KEY UPDATE, which
    excludes the same lock and writes but not the fan-out's inserts of deliveries (their
    foreign key takes KEY SHARE)."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM subscribers WHERE chat_id = ?{' FOR NO KEY UPDATE' if lock else ''}",
        (chat_id,),
    )
    row = await cursor.fetchone()
    return _subscriber(row) if row else None


async def add_many(db: Database, chats: Iterable[tuple[int, ChatType, Language]]) -> int:
    """Insert many subscribers at once (imports, benchmarks); existing chats are left alone."""
    now = int(time.time())
    async with db.transaction() as conn:
        return await conn.executemany(
            "INSERT INTO subscribers (chat_id, chat_type, language, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO NOTHING",
            ((chat_id, kind, lang, now, now) for chat_id, kind, lang in chats),
        )


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
        return await conn.executemany(
            "UPDATE subscribers SET active = 0, deactivated_why = ?, updated_at = ?"
            " WHERE chat_id = ? AND active = 1",
            ((why, now, chat_id) for chat_id in chat_ids),
        )


async def count(db: Database) -> tuple[int, int]:
    """(all subscribers, active ones)."""
    cursor = await db.reader.execute("SELECT count(*), coalesce(sum(active), 0) FROM subscribers")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def migrate(db: Database, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: it keeps its settings, filters and queued deliveries."""
    async with db.transaction() as conn:
        exists = await conn.execute("SELECT 1 FROM subscribers WHERE chat_id = ?", (new_chat_id,))
        if await exists.fetchone():
            # The supergroup already wrote to us (a /start there): keep it, retire the old id.
            await conn.execute(
                "UPDATE subscribers SET active = 0, deactivated_why = 'migrated' WHERE chat_id = ?",
                (old_chat_id,),
            )
            return
        await conn.execute(
            "UPDATE subscribers SET chat_id = ?, chat_type = 'supergroup', updated_at = ?"
            " WHERE chat_id = ?",
            (new_chat_id, int(time.time()), old_chat_id),
        )


async def sync_channels(db: Database, channels: Sequence[tuple[int, AlertLevel]]) -> None:
    """Make the configured channels subscribers at their alert level; unlisted ones stop."""
    now = int(time.time())
    async with db.transaction() as conn:
        for chat_id, level in channels:
            await conn.execute(
                "INSERT INTO subscribers (chat_id, chat_type, alert_level, created_at, updated_at)"
                " VALUES (?, 'channel', ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
                " alert_level = excluded.alert_level, chat_type = 'channel', active = 1,"
                " deactivated_why = NULL, updated_at = excluded.updated_at",
                (chat_id, level, now, now),
            )
        listed = [chat_id for chat_id, _ in channels]
        marks = ",".join("?" * len(listed)) or "NULL"
        await conn.execute(
            "UPDATE subscribers SET active = 0, deactivated_why = 'not in the configuration'"
            f" WHERE chat_type = 'channel' AND active = 1 AND chat_id NOT IN ({marks})",
            listed,
        )


async def set_preferences(
    db: Database,
    chat_id: int,
    *,
    language: Language | None = None,
    alert_level: AlertLevel | None = None,
    quiet: tuple[int, int] | bool | None = False,
    quiet_to_digest: bool | None = None,
    digest_at: int | bool | None = False,
    topic_id: int | bool | None = False,
) -> Subscriber | None:
    """Change some preferences; `False` leaves a nullable one as it is, None clears it."""
    changes: list[str] = []
    values: list[object] = []
    if language is not None:
        changes.append("language = ?")
        values.append(language)
    if alert_level is not None:
        changes.append("alert_level = ?")
        values.append(alert_level)
    if quiet is not False:
        start, end = quiet if isinstance(quiet, tuple) else (None, None)
        changes += ["quiet_start = ?", "quiet_end = ?"]
        values += [start, end]
    if quiet_to_digest is not None:
        changes.append("quiet_to_digest = ?")
        values.append(int(quiet_to_digest))
    if digest_at is not False:
        changes.append("digest_at = ?")
        values.append(digest_at)
    if topic_id is not False:
        changes.append("topic_id = ?")
        values.append(topic_id)
    async with db.transaction() as conn:
        if changes:
            await conn.execute(
                f"UPDATE subscribers SET {', '.join(changes)}, updated_at = ? WHERE chat_id = ?",
                [*values, int(time.time()), chat_id],
            )
        return await _written(conn, chat_id)


async def set_filters(
    db: Database,
    chat_id: int,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    shown: Mapping[str, str] | None = None,
) -> list[str]:
    """Add and remove normalized keyword filters; returns the chat's filters. `shown` maps an
    added word to the text the user wrote, kept for display (matching uses the word)."""
    shown = shown or {}
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO subscriber_filters (chat_id, word, shown) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id, word) DO UPDATE SET shown = excluded.shown",
            [(chat_id, word, shown.get(word)) for word in add],
        )
        await conn.executemany(
            "DELETE FROM subscriber_filters WHERE chat_id = ? AND word = ?",
            [(chat_id, word) for word in remove],
        )
    return await filters(db, chat_id)


@dataclass(frozen=True)
class Keyword:
    """A chat's keyword filter and its id, which a remove button carries instead of the word."""

    id: str
    word: str  # normalized: what matching uses
    shown: str = ""  # as the user wrote it: what the chat sees

    @property
    def label(self) -> str:
        return self.shown or self.word


def keyword_id(word: str) -> str:
    """A keyword's id: 16 hex digits of the SHA-256 of the normalized word.

    Derived, not stored, so that the keyword table needs no new column (and no migration);
    unique within a chat's at most 20 keywords (a clash would need 2^32 of them), the same
    across restarts, and 16 bytes whatever the word's length or script.
    """
    return hashlib.sha256(word.encode("utf-8")).hexdigest()[:16]


async def keywords(db: Database, chat_id: int) -> list[Keyword]:
    """The chat's keyword filters with their ids and their written form, in word order."""
    cursor = await db.reader.execute(
        "SELECT word, shown FROM subscriber_filters WHERE chat_id = ? ORDER BY word", (chat_id,)
    )
    return [Keyword(keyword_id(word), word, shown or "") for word, shown in await cursor.fetchall()]


async def remove_keyword(db: Database, chat_id: int, keyword: str) -> str | None:
    """Remove the chat's keyword with this id; the word removed, or None if it has none."""
    for found in await keywords(db, chat_id):
        if found.id == keyword:
            await set_filters(db, chat_id, remove=[found.word])
            return found.word
    return None


async def filters(db: Database, chat_id: int) -> list[str]:
    cursor = await db.reader.execute(
        "SELECT word FROM subscriber_filters WHERE chat_id = ? ORDER BY word", (chat_id,)
    )
    return [row[0] for row in await cursor.fetchall()]


async def set_source_enabled(db: Database, chat_id: int, source_id: int, enabled: bool) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO subscriber_sources (chat_id, source_id, enabled) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id, source_id) DO UPDATE SET enabled = excluded.enabled",
            (chat_id, source_id, int(enabled)),
        )


async def disabled_sources(db: Database, chat_id: int) -> set[int]:
    cursor = await db.reader.execute(
        "SELECT source_id FROM subscriber_sources WHERE chat_id = ? AND enabled = 0", (chat_id,)
    )
    return {row[0] for row in await cursor.fetchall()}


async def due_for_digest(db: Database, local_minute: int, since: int) -> list[Subscriber]:
    """Active subscribers whose digest time is this minute and who had none since `since`."""
    cursor = await db.reader.execute(
        f"SELECT {_COLUMNS} FROM subscribers WHERE active = 1 AND digest_at = ?"
        " AND (digest_sent_at IS NULL OR digest_sent_at < ?)",
        (local_minute, since),
    )
    return [_subscriber(row) for row in await cursor.fetchall()]


async def mark_digest_sent(db: Database, chat_id: int, at: int) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE subscribers SET digest_sent_at = ? WHERE chat_id = ?", (at, chat_id)
        )
