"""All of Ajil's SQL, behind typed async functions over a `Database`: SQLite (a file, the
default) or PostgreSQL (a postgresql:// URL), the same statements on both.

The bottom of the house: `handlers` and `bot` import it, it imports nothing of Telegram, the core
or the handlers. Callers pass plain values and get the dataclasses of `storage.models` back.
`Database.transaction()` inside another joins it, so that a use case (bot.actions) makes
several of these calls one atomic change.
"""

from pathlib import Path

# SQLite registers itself with Database.open when imported; PostgreSQL is registered here and
# imported (with asyncpg, 0.1-0.4 s) only when a postgresql:// URL is opened, so that no other
# command pays for it.
from storage import sqlite as sqlite
from storage.database import Database, Migration, StorageError, StorageUnavailable, register_backend
from storage.dialect import POSTGRESQL


async def _open_postgres(target: Path | str, migrations: list[Migration]) -> Database:
    from storage.postgres import PostgresDatabase

    return await PostgresDatabase.connect(str(target), migrations)


register_backend(POSTGRESQL, _open_postgres)

__all__ = ["Database", "StorageError", "StorageUnavailable"]
