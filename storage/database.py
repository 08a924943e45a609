"""The database behind storage/: which backend a `[storage] database` value names, the small
interface both backends give storage's functions, and transactions.

A file path opens SQLite (storage.sqlite: one writer connection, one reader, WAL); a
`postgresql://` URL opens PostgreSQL (storage.postgres: an asyncpg pool). Either way a storage
function sees a `Database` with `transaction()`, which yields a `Connection` (execute,
executemany), and `reader` for queries outside a transaction. Statements are written once, in
the SQL both share (storage.dialect translates them for PostgreSQL).

Transactions: on SQLite a process writes through one connection, so its write transactions
take turns in the process's write queue; on PostgreSQL each takes a pool connection of its own
and they run at once, except those a caller asks to be `serial` (they take turns among
themselves, as on SQLite). A `priority` transaction (the fleet's lease) never waits behind
the others of its process: on SQLite it is the queue's next turn, on PostgreSQL it runs on a
connection of its own. A `transaction()` inside another of the same task joins it.
"""

from __future__ import annotations

import asyncio
import contextvars
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from storage.dialect import POSTGRESQL, SQLITE

DATABASE_URL_ENV = "AJIL_DATABASE_URL"
_URL_SCHEMES = ("postgresql://", "postgres://")

Parameters = Iterable[Any] | Mapping[str, Any]


class StorageError(Exception):
    """The database cannot be used; the message names it and says what to do."""


class StorageUnavailable(StorageError):
    """The database server cannot be reached now (down, restarting, network): worth trying
    again later, unlike a wrong file, URL or schema."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The numbered migrations shipped in storage/migrations, in order (NNNN_name.sql).

    One set serves both backends (storage.dialect.migration_script). Raises RuntimeError when
    the numbers do not run 1, 2, 3..."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.partition("_")
        found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration numbers must run 1, 2, 3...: {migration.version}")
    return found


def is_url(target: str | Path) -> bool:
    """Whether a `[storage] database` value is a PostgreSQL URL (else it is a SQLite file)."""
    return isinstance(target, str) and target.startswith(_URL_SCHEMES)


class Rows:
    """A statement's rows, all read, and how many rows it changed (-1 for a query): what
    `execute` returns in place of a live cursor. Rows are tuples on both backends."""

    def __init__(self, rows: list[Any], rowcount: int = -1) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Any]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest


class Connection(Protocol):
    """What `transaction()` yields: the statements of one transaction."""

    async def execute(self, sql: str, parameters: Parameters = ()) -> Rows:
        """Run one statement (`?` or `:name` placeholders); its rows and changed-row count."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Parameters]) -> int:
        """Run one statement once per parameter set; how many rows it changed in all."""
        ...


class Reader(Protocol):
    """Queries outside any transaction, each reading every row in one step."""

    async def execute(self, sql: str, parameters: Parameters = ()) -> Rows: ...

    async def execute_fetchall(self, sql: str, parameters: Parameters = ()) -> list[Any]: ...


class WriteQueue:
    """The process's turns at writing: one holder at a time, waiters served in order, except
    that a `priority` waiter goes before every ordinary one (the lease's renewal must not wait
    for a backlog of command writes; bot.fleet).

    The turn passes straight from the holder to the next waiter, so that no task arriving in
    between takes it first.
    """

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._ordinary: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """How many tasks wait for a turn."""
        return len(self._urgent) + len(self._ordinary)

    async def acquire(self, priority: bool = False) -> None:
        if not self._held and not self.waiting:
            self._held = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line = self._urgent if priority else self._ordinary
        line.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn as it was cancelled: pass it on
            else:
                line.remove(turn)
            raise

    def release(self) -> None:
        for line in (self._urgent, self._ordinary):
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)  # the turn passes on; _held stays True
                    return
        self._held = False

    @asynccontextmanager
    async def turn(self, priority: bool = False) -> AsyncIterator[None]:
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()


class Database(ABC):
    """An open Ajil database: `transaction()` for changes, `reader` for queries.

    `open` picks the backend; the subclasses (storage.sqlite.SqliteDatabase,
    storage.postgres.PostgresDatabase) provide `_begin`, `_commit`, `_rollback` and `reader`.
    """

    dialect: str = SQLITE
    reader: Reader
    # Whether every write transaction of the process takes its turn in the write queue (one
    # writer connection: SQLite), or only the `serial` ones do (a pool: PostgreSQL).
    one_writer: bool = True

    def __init__(self, target: Path | str, where: str) -> None:
        # What `open` was given (a URL may carry a password: never show it) and what messages
        # name: the file, or the URL without its password.
        self.target = target
        self.where = where
        self.write_queue = WriteQueue()
        # The transaction the current task is in, so that nested `transaction()` blocks join
        # it: a caller can make several storage calls one atomic change.
        self._active: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
            f"ajil-tx-{id(self)}", default=None
        )

    @classmethod
    async def open(cls, target: Path | str, migrations: list[Migration] | None = None) -> Database:
        """Open (creating if needed) and migrate the database a `[storage] database` value
        names: a SQLite file path, or a postgresql:// URL. Raises StorageError."""
        chosen = bundled_migrations() if migrations is None else migrations
        connect = _BACKENDS[POSTGRESQL if is_url(target) else SQLITE]
        return await connect(target, chosen)

    @abstractmethod
    async def close(self) -> None:
        """Close every connection; the object is unusable after."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The number of the last migration applied."""

    @asynccontextmanager
    async def transaction(
        self, *, serial: bool = False, priority: bool = False
    ) -> AsyncIterator[Connection]:
        """BEGIN ... COMMIT; ROLLBACK if the block raises.

        Inside another `transaction()` of the same task, it joins the outer one: everything
        commits or rolls back together (and the outer one's `serial` and `priority` hold).

        `serial`: this transaction never runs beside another serial one of this process (on
        SQLite no write transaction ever does): for a read-modify-write whose reads are not
        all in the database, such as the watcher's story index in memory. `priority`: it does
        not wait for the process's other write transactions (SQLite: it takes the next turn,
        after the one running; PostgreSQL: its own connection); for the fleet's lease, whose
        renewal must land within seconds whatever the load.

        Raises StorageError when the database cannot take the write (SQLite: another process
        holds the lock past storage.sqlite.LOCK_PATIENCE_S).
        """
        joined = self._active.get()
        if joined is not None:
            yield joined
            return
        async with self._turn(serial, priority):
            conn = await self._begin(priority)
            token = self._active.set(conn)
            try:
                yield conn
            except BaseException:
                await self._rollback(conn)
                raise
            finally:
                self._active.reset(token)
            await self._commit(conn)

    def _turn(self, serial: bool, priority: bool) -> AbstractAsyncContextManager[None]:
        """What a transaction waits for before `_begin`: a turn in the write queue, on SQLite
        always; elsewhere for `serial` ones only (a `priority` one has its own connection)."""
        if self.one_writer or (serial and not priority):
            return self.write_queue.turn(priority)
        return nullcontext()

    @abstractmethod
    async def _begin(self, priority: bool = False) -> Connection:
        """Start a write transaction and return its connection (`priority`: see
        `transaction`)."""

    @abstractmethod
    async def _commit(self, conn: Connection) -> None:
        """Commit the transaction `_begin` started."""

    @abstractmethod
    async def _rollback(self, conn: Connection) -> None:
        """Roll back the transaction `_begin` started."""


# The backends by dialect, registered by storage.sqlite and, for storage.postgres (imported
# only when a postgresql:// URL is opened), by storage/__init__.py: they import this module
# for the base class, and this one never imports them back.
Connector = Callable[[Path | str, list[Migration]], Awaitable[Database]]
_BACKENDS: dict[str, Connector] = {}


def register_backend(dialect: str, connect: Connector) -> None:
    """Make `Database.open` use `connect` for targets of `dialect` (SQLITE or POSTGRESQL)."""
    _BACKENDS[dialect] = connect
