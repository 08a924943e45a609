"""Sources and their fetch state: conditional-GET validators, failures, backoff, priming,
and the warning of their last read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.database import Database
from storage.models import SourceState, from_epoch, to_epoch

_COLUMNS = (
    "id, name, url, kind, etag, last_modified, last_attempt_at, last_success_at, "
    "consecutive_failures, last_error, failing_since, next_fetch_at, disabled, primed,"
    " warning, warning_since"
)


@dataclass(frozen=True)
class SourceSpec:
    """A source as the configuration declares it."""

    name: str
    url: str
    kind: str


def _state(row: Sequence[Any]) -> SourceState:
    return SourceState(
        id=row[0],
        name=row[1],
        url=row[2],
        kind=row[3],
        etag=row[4],
        last_modified=row[5],
        last_attempt_at=from_epoch(row[6]),
        last_success_at=from_epoch(row[7]),
        consecutive_failures=row[8],
        last_error=row[9],
        failing_since=from_epoch(row[10]),
        next_fetch_at=from_epoch(row[11]),
        disabled=bool(row[12]),
        primed=bool(row[13]),
        warning=row[14],
        warning_since=from_epoch(row[15]),
    )


async def sync(db: Database, specs: Sequence[SourceSpec]) -> list[SourceState]:
    """Make the table match the configuration; fetch state survives, a changed URL resets it.

    Sources removed from the configuration stay (their items are still searchable) but are
    no longer returned.
    """
    async with db.transaction() as conn:
        for spec in specs:
            await conn.execute(
                "INSERT INTO sources (name, url, kind) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET"
                "  etag = CASE WHEN sources.url = excluded.url THEN sources.etag END,"
                "  last_modified = CASE WHEN sources.url = excluded.url"
                "   THEN sources.last_modified END,"
                "  primed = CASE WHEN sources.url = excluded.url THEN sources.primed ELSE 0 END,"
                "  warning = CASE WHEN sources.url = excluded.url THEN sources.warning END,"
                "  warning_since = CASE WHEN sources.url = excluded.url"
                "   THEN sources.warning_since END,"
                "  url = excluded.url, kind = excluded.kind",
                (spec.name, spec.url, spec.kind),
            )
    wanted = {spec.name for spec in specs}
    return [state for state in await all_sources(db) if state.name in wanted]


async def all_sources(db: Database) -> list[SourceState]:
    cursor = await db.reader.execute(f"SELECT {_COLUMNS} FROM sources ORDER BY id")
    return [_state(row) for row in await cursor.fetchall()]


async def get(db: Database, name: str) -> SourceState | None:
    cursor = await db.reader.execute(f"SELECT {_COLUMNS} FROM sources WHERE name = ?", (name,))
    row = await cursor.fetchone()
    return _state(row) if row else None


async def record_success(
    db: Database,
    source_id: int,
    at: datetime,
    etag: str | None,
    last_modified: str | None,
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE sources SET last_attempt_at = ?, last_success_at = ?, etag = ?,"
            " last_modified = ?, consecutive_failures = 0, last_error = NULL,"
            " failing_since = NULL, next_fetch_at = NULL, primed = 1 WHERE id = ?",
            (to_epoch(at), to_epoch(at), etag, last_modified, source_id),
        )


async def record_warning(db: Database, source_id: int, warning: str | None, at: datetime) -> None:
    """Keep what the last read said was missing (None: nothing); `warning_since` is when the
    source started warning, kept while it goes on warning, whatever the wording."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE sources SET warning = ?,"
            " warning_since = CASE WHEN CAST(? AS TEXT) IS NULL THEN NULL ELSE coalesce(warning_since, ?) END"
            " WHERE id = ?",
            (warning[:500] if warning else None, warning, to_epoch(at), source_id),
        )


async def record_failure(
    db: Database, source_id: int, at: datetime, error: str, retry_at: datetime
) -> SourceState:
    """Count one more failure in a row and note when to try again."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE sources SET last_attempt_at = ?, last_error = ?,"
            " consecutive_failures = consecutive_failures + 1,"
            " failing_since = coalesce(failing_since, ?), next_fetch_at = ? WHERE id = ?",
            (to_epoch(at), error[:500], to_epoch(at), to_epoch(retry_at), source_id),
        )
        cursor = await conn.execute(f"SELECT {_COLUMNS} FROM sources WHERE id = ?", (source_id,))
        row = await cursor.fetchone()
    assert row is not None
    return _state(row)


async def set_disabled(db: Database, name: str, disabled: bool) -> bool:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE sources SET disabled = ? WHERE name = ?", (int(disabled), name)
        )
        return cursor.rowcount > 0
