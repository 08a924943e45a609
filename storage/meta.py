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
