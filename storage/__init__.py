"""All of Ajil's SQL, behind typed async functions over a `Database`: SQLite (a file, the
default) or PostgreSQL (a postgresql:// URL), the same statements on both.

The bottom of the house: `handlers` and `bot` import it, it imports nothing of Telegram, the core
or the handlers. Callers pass plain values and get the dataclasses of `storage.models` back.
`Database.transaction()` inside another joins it, so that a use case (bot.actions) makes
several of these calls one atomic change.
"""

# Each backend registers itself with Database.open when imported.
from storage import postgres as postgres
from storage import sqlite as sqlite
from storage.database import Database, StorageError, StorageUnavailable

__all__ = ["Database", "StorageError", "StorageUnavailable"]
