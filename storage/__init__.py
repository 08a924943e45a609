"""All of Ajil's SQL, behind typed async functions over a `Database`: SQLite (a file, the
default) or PostgreSQL (a postgresql:// URL), the same statements on both.

Nothing here knows about Telegram or about how news is parsed: callers pass plain values and
get the dataclasses of `storage.models` back.
"""

from storage.database import Database, StorageError, StorageUnavailable

__all__ = ["Database", "StorageError", "StorageUnavailable"]
