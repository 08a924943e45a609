"""All of Ajil's SQL, behind typed async functions over an aiosqlite `Database`.

The bottom of the house: `handlers` and `bot` import it, it imports nothing of Telegram, the core
or the handlers. Callers pass plain values and get the dataclasses of `storage.models` back.
`Database.transaction()` inside another joins it, so that a use case (bot.actions) makes
several of these calls one atomic change.
"""

from storage.database import Database, StorageError

__all__ = ["Database", "StorageError"]
