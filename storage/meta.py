"""Facts the bot keeps about itself between runs (the webhook secret, incident markers)."""

from __future__ import annotations

from storage.database import Database


async def get(db: Database, key: str) -> str | None:
    cursor = await db.reader.execute("SELECT value FROM meta WHERE key = ?", (key,))
    row = await cursor.fetchone()
    return str(row[0]) if row else None


async def put(db: Database, key: str, value: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


async def put_new(db: Database, key: str, value: str) -> str:
    """Keep `value` under `key` unless a value is there already; returns the value kept.

    Two workers starting at once each generate a value (the webhook secret): both end with
    the one that was stored first.
    """
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (key, value),
        )
        cursor = await conn.execute("SELECT value FROM meta WHERE key = ?", (key,))
        row = await cursor.fetchone()
    assert row is not None  # inserted or already there, in this transaction
    return str(row[0])
