"""All of Ajil's SQL, behind typed async functions over an aiosqlite `Database`.

Nothing here knows about Telegram or about how news is parsed: callers pass plain values and
get the dataclasses of `storage.models` back.
"""

from storage.database import Database, StorageError

__all__ = ["Database", "StorageError"]
