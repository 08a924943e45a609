"""Notices: outbox messages that are not one item (admin broadcasts, digests)."""

from __future__ import annotations

import time
from typing import Literal

from storage.database import Database

NoticeKind = Literal["broadcast", "digest"]


async def create(db: Database, kind: NoticeKind, body: str) -> int:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO notices (kind, body, created_at) VALUES (?, ?, ?) RETURNING id",
            (kind, body, int(time.time())),
        )
        (row,) = await cursor.fetchall()
        return int(row[0])
