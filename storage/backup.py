"""A consistent copy of the live database, taken while the bot runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.database import StorageError
from storage.sqlite import BUSY_TIMEOUT_MS


def backup(source: Path, target: Path) -> int:
    """Copy `source` to `target` with SQLite's online backup; returns the pages copied.

    The copy is a snapshot of one moment: every transaction committed before it began is in
    it, none that commits during it. Writers are not stopped: the copy proceeds in steps and
    restarts where a write touched what was already copied.
    """
    if not source.exists():
        raise StorageError(f"{source}: no such database")
    if target.exists():
        raise StorageError(f"{target}: already exists; choose a new file name")
    if not target.parent.is_dir():
        raise StorageError(f"{target}: the folder {target.parent} does not exist")
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as live:
            live.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            copy = sqlite3.connect(target)
            try:
                live.backup(copy, pages=256)
                pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
                result = copy.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                copy.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise StorageError(f"{source}: backup failed ({exc})") from None
    if result != "ok":
        target.unlink(missing_ok=True)
        raise StorageError(f"{target}: the copy failed its integrity check ({result})")
    return pages
