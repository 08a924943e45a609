"""The SQLite backend (the default): opening a file safely, migrating it, one writer connection.

One long-lived writer connection serialises every write (transactions take turns in the
process's write queue, storage.database.WriteQueue, so two tasks never interleave statements of
different transactions; the lease's renewal takes the next turn, ahead of the others); a second, read-only
connection serves queries without waiting behind writes, which WAL allows.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from storage.database import (
    Connection,
    Database,
    Migration,
    Parameters,
    Rows,
    StorageError,
    register_backend,
)
from storage.dialect import SQLITE, migration_script, to_sqlite

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 5000
# How long a write waits for another process's write lock (a backup tool, a second bot on the
# same file, an operator's sqlite3 shell) before it gives up with StorageError: each attempt
# waits BUSY_TIMEOUT_MS inside SQLite, then the next is tried.
LOCK_PATIENCE_S = 120.0
# How often a write waits to look again while a `priority` transaction of this process wants
# the file's lock (see Gate).
GATE_POLL_S = 0.005


class Gate:
    """The `priority` transactions of this process waiting for, or holding, a file's write
    lock, counted across threads: the lease renews from a thread and a connection of its
    own (storage.leases.Aside), and SQLite's busy handler only sleeps and tries again (1 to
    100 ms apart), so against the main connection's back-to-back writes it could lose every
    time. While the count is above zero the process's other connections start no write
    transaction: the lease waits for the one open, then takes the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanting: dict[str, int] = {}

    def want(self, key: str, delta: int) -> None:
        with self._lock:
            left = self._wanting.get(key, 0) + delta
            if left > 0:
                self._wanting[key] = left
            else:
                self._wanting.pop(key, None)

    def wanted(self, key: str) -> bool:
        return key in self._wanting


GATE = Gate()


class SqliteConnection:
    """One aiosqlite connection as a storage `Connection`: each statement runs and is read
    whole, so no cursor stays open (an open cursor pins SQLite's read snapshot)."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, parameters: Parameters = ()) -> Rows:
        cursor = await self.connection.execute(to_sqlite(sql), parameters)
        try:
            rows = list(await cursor.fetchall())
            # Read after the last row: for a RETURNING statement SQLite counts as it steps.
            return Rows(rows, cursor.rowcount)
        finally:
            await cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Parameters]) -> int:
        cursor = await self.connection.executemany(to_sqlite(sql), rows)
        try:
            # The statements' own changes, summed; rows a trigger writes are not counted.
            return max(cursor.rowcount, 0)
        finally:
            await cursor.close()


class SqliteReader:
    """The read-only connection, one whole query per call (see SqliteDatabase)."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, parameters: Parameters = ()) -> Rows:
        return Rows(await self.execute_fetchall(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Parameters = ()) -> list[Any]:
        return list(await self.connection.execute_fetchall(to_sqlite(sql), parameters))

    async def close(self) -> None:
        await self.connection.close()


class SqliteDatabase(Database):
    """An open SQLite file: `writer` (the raw aiosqlite connection, for tests and tools that
    need SQLite itself) and `reader`, the read-only connection.

    SQLite keeps a read transaction (and so an old snapshot, in WAL) open while any statement
    of the connection is unfinished. With aiosqlite a live cursor is such a statement between
    `execute` and its last fetch, and other tasks' queries, queued on the same connection,
    ran inside its snapshot: a row committed a moment before was not seen (a /settings right
    after its own write failed). The reader executes and reads every row in one step.
    """

    dialect = SQLITE
    reader: SqliteReader

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        super().__init__(path, str(path))
        self.path = path
        self._wanting = False  # this connection's open transaction counts in GATE
        self._gate_key = str(path.resolve())
        self.writer = writer
        self._connection = SqliteConnection(writer)
        self.reader = SqliteReader(reader)

    @classmethod
    async def connect(cls, path: Path, migrations: list[Migration]) -> SqliteDatabase:
        """Open (creating if needed) and migrate the file at `path`, or raise StorageError."""
        if not path.parent.exists():
            raise StorageError(f"{path}: the folder {path.parent} does not exist")
        try:
            writer = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"{path}: cannot open the database ({exc})") from None
        reader: aiosqlite.Connection | None = None
        try:
            await _configure(writer)
            await _migrate(writer, path, migrations)
            reader = await aiosqlite.connect(path, isolation_level=None)
            await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            await writer.close()
            if reader is not None:
                await reader.close()
            raise StorageError(_explain(path, exc)) from None
        except StorageError:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        async with self.write_queue.turn():
            await self.reader.close()
            await self.writer.close()

    async def schema_version(self) -> int:
        return await _user_version(self.reader.connection)

    async def _begin(self, priority: bool = False) -> Connection:
        """BEGIN IMMEDIATE, waiting for another process's write lock (LOCK_PATIENCE_S at most).

        Raises StorageError when the lock is still held after that."""
        if priority:
            GATE.want(self._gate_key, 1)
            self._wanting = True
        else:
            # The lease goes first (see Gate). Polled: it is set from another thread and
            # loop, which cannot wake this loop's waiters without it.
            while GATE.wanted(self._gate_key):  # noqa: ASYNC110
                await asyncio.sleep(GATE_POLL_S)
        try:
            return await self._begin_immediate()
        except BaseException:
            self._ungate()
            raise

    async def _begin_immediate(self) -> Connection:
        started = time.monotonic()
        warned = False
        while True:
            try:
                await self.writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc):
                    raise
                waited = time.monotonic() - started
                if waited >= LOCK_PATIENCE_S:
                    raise StorageError(
                        f"{self.path}: the database is locked by another process "
                        f"(waited {waited:.0f} s)"
                    ) from None
                if not warned:
                    log.warning(
                        "%s: the database is locked by another process; writes wait", self.path
                    )
                    warned = True
                continue
            if warned:
                waited = time.monotonic() - started
                log.info("%s: the database lock was released after %.1f s", self.path, waited)
            return self._connection

    def _ungate(self) -> None:
        if self._wanting:
            self._wanting = False
            GATE.want(self._gate_key, -1)

    async def _commit(self, conn: Connection) -> None:
        try:
            await self.writer.execute("COMMIT")
        finally:
            self._ungate()

    async def _rollback(self, conn: Connection) -> None:
        try:
            await self.writer.execute("ROLLBACK")
        finally:
            self._ungate()


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED ("database is locked", "database table is locked")."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # The first real read of the file: a file that is not SQLite fails here.
    cursor = await conn.execute("PRAGMA journal_mode = WAL")
    row = await cursor.fetchone()
    if row is None or str(row[0]).lower() != "wal":
        raise sqlite3.OperationalError("the database cannot use WAL journaling here")
    # NORMAL is durable across application crashes in WAL mode; only a power cut may lose the
    # last transactions, which the outbox tolerates (a resend, never a loss of older rows).
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")


async def _user_version(conn: aiosqlite.Connection) -> int:
    cursor = await conn.execute("PRAGMA user_version")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _migrate(conn: aiosqlite.Connection, path: Path, migrations: list[Migration]) -> None:
    current = await _user_version(conn)
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise StorageError(
            f"{path}: the database has schema version {current}, newer than this Ajil knows "
            f"({latest}); it was written by a newer release. Upgrade Ajil, or restore a backup."
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        # executescript would commit on its own; an explicit transaction keeps each
        # migration all-or-nothing together with its version number.
        try:
            await conn.executescript(
                "BEGIN IMMEDIATE;\n"
                f"{migration_script(migration.sql, SQLITE)}\n"
                f"PRAGMA user_version = {migration.version};\n"
                "COMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise


def _explain(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return (
            f"{path}: the file is not a usable SQLite database ({text}). "
            "Restore a backup, or move the file away to start afresh."
        )
    if "readonly" in lowered or "unable to open" in lowered or "permission" in lowered:
        return (
            f"{path}: the database cannot be written ({text}). "
            "Check the permissions of the file and of its folder."
        )
    if "disk" in lowered and "full" in lowered:
        return f"{path}: the disk is full ({text}). Free some space and start again."
    return f"{path}: database error ({text})"


async def _open_sqlite(target: Path | str, migrations: list[Migration]) -> Database:
    return await SqliteDatabase.connect(Path(target), migrations)


register_backend(SQLITE, _open_sqlite)
