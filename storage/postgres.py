"""The PostgreSQL backend: an asyncpg pool behind the same `Database` as SQLite's.

asyncpg rather than psycopg 3: it has its pool built in (psycopg's is a second package), it
speaks the binary protocol and pipelines `executemany`/`fetchmany` (one round trip for a batch
of rows, which the outbox's bulk writes need), and its numbered `$n` parameters are what
storage.dialect produces.

Every statement goes through storage.dialect.to_postgres. Write transactions (READ COMMITTED)
run at once, each on a pool connection of its own, at most WRITERS together so that reads
always find a connection (a transaction may read through the pool before it commits); those a
caller asks to be `serial` take turns (storage.database). A `priority` transaction (the
fleet's lease) runs on a connection kept for it alone, so that no backlog of command writes
delays it. Errors from the server or the connection surface as StorageError, the one
exception storage's callers handle for either backend.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.database import (
    Connection,
    Database,
    Migration,
    Parameters,
    Rows,
    StorageError,
    StorageUnavailable,
)
from storage.dialect import POSTGRESQL, DialectError, bind, migration_script, returns_rows
from storage.dialect import to_postgres as _translate

log = logging.getLogger(__name__)
POOL_SIZE = 10
# Write transactions of one process at once: the rest of the pool stays for reads, which a
# transaction may make before it commits (and would wait for forever with every connection
# held by transactions waiting the same way).
WRITERS = 7
# Set on every connection of the pool. No JIT: Ajil's statements are short ones over a key
# range or a batch, and the fan-out's walk of 2,000 chats (per-chat probes, estimated at some
# 100,000 cost units at 1M subscribers, more under a generic plan) crosses jit_above_cost,
# where compiling took 150-200 ms, longer than the batch itself (docs/BENCHMARKS.md).
SERVER_SETTINGS = {"jit": "off"}
# pg_advisory_xact_lock key taken while migrating, so that workers starting together migrate
# once: "ajil" in ASCII.
MIGRATION_LOCK = 0x616A696C
_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY, name TEXT NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)


# A batch of at least this many rows of a plain INSERT ... VALUES goes as one statement.
UNNEST_FROM = 64
_INSERT_VALUES = re.compile(
    r"\s*INSERT\s+INTO\s+(?P<table>[\w.]+)\s*\((?P<columns>[^)]*)\)\s*"
    r"VALUES\s*\((?P<marks>[\s$\d,]+)\)(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
_DO_NOTHING = re.compile(r"\s*ON\s+CONFLICT\b[^;]*?\bDO\s+NOTHING\s*;?\s*", re.IGNORECASE)
# Statements already looked at (the parameter types come from the server, once).
_COLUMNAR: dict[str, str] = {}
_NOT_COLUMNAR: set[str] = set()


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _changed(status: str) -> int:
    """Rows a command changed, from its status ("INSERT 0 3", "UPDATE 2"); -1 when none."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


def _args(names: tuple[str, ...] | None, parameters: Parameters) -> list[Any]:
    """The arguments in `$n` order, each text without U+0000: PostgreSQL's text type cannot
    hold that character (SQLite keeps it; it is invisible, and compose drops it anyway)."""
    return [
        value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value
        for value in bind(names, parameters)
    ]


class PostgresConnection:
    """A pooled asyncpg connection as a storage `Connection`, translating each statement."""

    def __init__(
        self,
        connection: asyncpg.Connection,
        where: str,
        transaction: Any = None,
        pool: asyncpg.Pool | None = None,
    ) -> None:
        self.connection = connection
        self._where = where
        # The transaction this connection runs and the pool it goes back to after (None for a
        # connection used outside storage.database's transactions, as the migration's).
        self.transaction = transaction
        self.pool = pool

    async def execute(self, sql: str, parameters: Parameters = ()) -> Rows:
        text, names = _translate(sql)
        args = _args(names, parameters)
        try:
            if returns_rows(text):
                records = await self.connection.fetch(text, *args)
                rows = [tuple(record) for record in records]
                query = text.lstrip()[:6].upper() in ("SELECT", "VALUES")
                return Rows(rows, -1 if query else len(rows))
            return Rows([], _changed(await self.connection.execute(text, *args)))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise _error(self._where, exc) from exc

    async def executemany(self, sql: str, rows: Iterable[Parameters]) -> int:
        text, names = _translate(sql)
        args = [_args(names, row) for row in rows]
        if not args:
            return 0
        try:
            if len(args) >= UNNEST_FROM and (columnar := await self._columnar(text)) is not None:
                # One statement for the whole batch: the server inserts set-wise (100,000
                # subscribers: ~2 s, where a row-by-row pipeline took 10-20 s here).
                columns = (list(column) for column in zip(*args, strict=True))
                status = await self.connection.execute(columnar, *columns)
                return max(_changed(status), 0)
            # asyncpg's executemany counts nothing; fetchmany pipelines the same way and
            # returns one row per changed row when the statement RETURNs it.
            counted = text if returns_rows(text) else f"{text.rstrip().rstrip(';')} RETURNING 1"
            return len(await self.connection.fetchmany(counted, args))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise _error(self._where, exc) from exc

    async def _columnar(self, text: str) -> str | None:
        """`INSERT INTO t (a, b) VALUES ($1, $2) [ON CONFLICT ... DO NOTHING]` as
        `INSERT INTO t (a, b) SELECT * FROM unnest($1::type[], $2::type[]) ...`, taking one
        array per column; None for any other statement, or one with an array parameter
        (unnest would flatten it). DO UPDATE is left row by row: a key twice in one batch
        would be an error there."""
        if text in _NOT_COLUMNAR:
            return None
        if text in _COLUMNAR:
            return _COLUMNAR[text]
        found = _INSERT_VALUES.match(text)
        marks = found["marks"].replace(" ", "").split(",") if found else []
        if (
            not found
            or marks != [f"${n}" for n in range(1, len(marks) + 1)]
            or not (found["rest"].strip() == "" or _DO_NOTHING.fullmatch(found["rest"]))
        ):
            _NOT_COLUMNAR.add(text)
            return None
        statement = await self.connection.prepare(text)
        types = statement.get_parameters()
        if any(t.kind == "array" or t.schema != "pg_catalog" for t in types):
            _NOT_COLUMNAR.add(text)
            return None
        arrays = ", ".join(f"${n}::{t.name}[]" for n, t in enumerate(types, start=1))
        _COLUMNAR[text] = (
            f"INSERT INTO {found['table']} ({found['columns']}) "
            f"SELECT * FROM unnest({arrays}){found['rest']}"
        )
        return _COLUMNAR[text]


class PostgresReader:
    """Queries on the pool, outside any transaction (each sees what is committed)."""

    def __init__(self, pool: asyncpg.Pool, where: str) -> None:
        self._pool = pool
        self._where = where

    async def execute(self, sql: str, parameters: Parameters = ()) -> Rows:
        return Rows(await self.execute_fetchall(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Parameters = ()) -> list[Any]:
        text, names = _translate(sql)
        try:
            records = await self._pool.fetch(text, *_args(names, parameters))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise _error(self._where, exc) from exc
        return [tuple(record) for record in records]


class PostgresDatabase(Database):
    """A PostgreSQL database reached through a pool of POOL_SIZE connections at most, and one
    more connection for `priority` transactions (`lease_pool`)."""

    dialect = POSTGRESQL
    one_writer = False

    def __init__(self, url: str, pool: asyncpg.Pool, lease_pool: asyncpg.Pool) -> None:
        super().__init__(url, redact(url))
        self.pool = pool
        self.lease_pool = lease_pool
        self.reader = PostgresReader(pool, self.where)
        self._writers = asyncio.Semaphore(WRITERS)

    @classmethod
    async def connect(cls, url: str, migrations: list[Migration]) -> PostgresDatabase:
        """Connect to `url` (postgresql://user[:password]@host[:port]/database[?param=value],
        libpq's URL form; extra parameters are server settings such as search_path) and
        migrate. Raises StorageError naming the server (never the password)."""
        where = redact(url)
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=POOL_SIZE, server_settings=SERVER_SETTINGS
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, ValueError) as exc:
            raise _error(where, exc) from None
        try:
            async with pool.acquire() as conn:
                await _migrate(conn, where, migrations)
            # A pool of one rather than a bare connection: it reconnects after a lost one.
            # Opened at its first use: a running worker renews its lease through a Database
            # of its own (storage.leases.Aside), whose lease pool is the one that connects.
            lease_pool = await asyncpg.create_pool(url, min_size=0, max_size=1)
        except StorageError:
            await pool.close()
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, DialectError) as exc:
            await pool.close()
            raise StorageError(f"{where}: migrating failed ({exc})") from None
        return cls(url, pool, lease_pool)

    async def close(self) -> None:
        # Each pool waits for its connections to come back (the transactions in flight).
        await self.lease_pool.close()
        await self.pool.close()

    async def schema_version(self) -> int:
        (row,) = await self.reader.execute_fetchall(
            "SELECT coalesce(max(version), 0) FROM schema_migrations"
        )
        return int(row[0])

    async def _begin(self, priority: bool = False) -> Connection:
        pool = self.lease_pool if priority else self.pool
        if not priority:
            await self._writers.acquire()
        try:
            held = await pool.acquire()
        except BaseException as exc:
            if not priority:
                self._writers.release()
            if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError):
                raise _error(self.where, exc) from exc
            raise
        try:
            transaction = held.transaction()
            await transaction.start()
        except BaseException as exc:
            await self._give_back(pool, held)
            if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError):
                raise _error(self.where, exc) from exc
            raise
        return PostgresConnection(held, self.where, transaction, pool)

    async def _give_back(self, pool: asyncpg.Pool, held: asyncpg.Connection) -> None:
        try:
            await pool.release(held)
        finally:
            if pool is self.pool:
                self._writers.release()

    async def _finish(self, conn: Connection, commit: bool) -> None:
        assert isinstance(conn, PostgresConnection) and conn.pool is not None
        try:
            if commit:
                await conn.transaction.commit()
            else:
                await conn.transaction.rollback()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            if commit:
                raise _error(self.where, exc) from exc
            log.warning("%s: rollback failed (%s); the connection is dropped", self.where, exc)
        finally:
            await self._give_back(conn.pool, conn.connection)

    async def _commit(self, conn: Connection) -> None:
        await self._finish(conn, commit=True)

    async def _rollback(self, conn: Connection) -> None:
        await self._finish(conn, commit=False)


async def _migrate(conn: asyncpg.Connection, where: str, migrations: list[Migration]) -> None:
    """Apply the migrations not yet applied, all in one transaction, under an advisory lock
    so that workers starting together migrate once. Raises StorageError when the database
    was migrated by a newer Ajil or by one whose migrations differ."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(_VERSIONS)
        applied = {
            int(row[0]): str(row[1])
            for row in await conn.fetch("SELECT version, name FROM schema_migrations")
        }
        known = {m.version: m.name for m in migrations}
        current = max(applied, default=0)
        latest = max(known, default=0)
        if current > latest:
            raise StorageError(
                f"{where}: the database has schema version {current}, newer than this Ajil "
                f"knows ({latest}); it was written by a newer release. Upgrade Ajil, or "
                "restore a backup."
            )
        for version, name in sorted(applied.items()):
            if known.get(version) != name:
                raise StorageError(
                    f"{where}: migration {version} was applied as {name!r} but this Ajil's is "
                    f"{known.get(version)!r}: the database belongs to another version of Ajil."
                )
        for migration in migrations:
            if migration.version in applied:
                continue
            await conn.execute(migration_script(migration.sql, POSTGRESQL))
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            log.info("%s: migrated to schema version %d", where, migration.version)


_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.TooManyConnectionsError,
)


def _error(where: str, exc: BaseException) -> StorageError:
    if isinstance(exc, _UNREACHABLE):
        return StorageUnavailable(_explain(where, exc))
    return StorageError(_explain(where, exc))


def _explain(where: str, exc: BaseException) -> str:
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{where}: no such database ({exc}); create it with createdb, or fix the URL"
    if isinstance(
        exc, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError
    ):
        return f"{where}: the server refused the login ({exc}); check the user and password"
    if isinstance(
        exc, OSError | asyncpg.CannotConnectNowError | asyncpg.ConnectionDoesNotExistError
    ):
        return f"{where}: cannot reach the PostgreSQL server ({exc}); is it running?"
    if isinstance(exc, asyncpg.DiskFullError):
        return f"{where}: the server's disk is full ({exc})"
    return f"{where}: database error ({type(exc).__name__}: {exc})"
