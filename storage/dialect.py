"""SQLite's SQL as PostgreSQL reads it: the few rewrites one set of statements needs to run on
both backends.

storage/ writes every statement once, in the SQL both databases share, with SQLite's `?` and
`:name` placeholders. On PostgreSQL, `to_postgres` rewrites each statement (once, then cached):

- placeholders: `?` → `$1, $2...` in order; `:name` → one `$n` per distinct name (asyncpg
  binds only numbered parameters);
- `instr(a, b)` → `strpos(a, b)` (the same result: 1-based position, 0 when absent);
- `INTEGER` → `BIGINT`: SQLite's integers are 64-bit, and chat ids (-100…) do not fit 32 bits;
- `INSERT OR IGNORE INTO ...` → `INSERT INTO ... ON CONFLICT DO NOTHING`.

Migrations go through `migration_script`, which also keeps only the blocks written for the
dialect (`-- dialect: sqlite` / `-- dialect: postgresql` ... `-- dialect: all`) and turns
`INTEGER PRIMARY KEY` into an identity column and drops `WITHOUT ROWID`.

The other way, `to_sqlite` drops row-lock clauses (`FOR UPDATE`, `FOR UPDATE SKIP LOCKED`,
`FOR SHARE`...) that SQLite does not parse: there the one writer holds the whole database, so
a claim written for PostgreSQL's concurrent writers is already exclusive.

Anything else SQLite-only (julianday, rowid, PRAGMA, FTS5 MATCH) has no portable meaning and
must not appear in the shared statements: storage/ keeps such statements per dialect, named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
DIALECTS = (SQLITE, POSTGRESQL)

# A string literal, a quoted identifier, a comment, a `::` cast, or a placeholder: scanning
# token by token keeps a `?` or `:x` inside quotes or comments as it is.
_TOKENS = re.compile(
    r"""
    (?P<skip>'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::)
    |(?P<mark>\?)
    |:(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_BLOCK = re.compile(r"^--\s*dialect:\s*(\w+)\s*$", re.MULTILINE)


class DialectError(ValueError):
    """A statement cannot be translated (mixed placeholder styles, a missing parameter)."""


_ROW_LOCK = re.compile(
    r"\s+FOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)(?:\s+OF\s+\w+(?:\s*,\s*\w+)*)?"
    r"(?:\s+(?:SKIP\s+LOCKED|NOWAIT))?\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=512)
def to_sqlite(sql: str) -> str:
    """The statement for SQLite: PostgreSQL's row-lock clauses removed (see the module doc)."""
    if "FOR " not in sql.upper():
        return sql
    return _ROW_LOCK.sub("", sql)


@lru_cache(maxsize=512)
def to_postgres(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """The statement for PostgreSQL and, for `:name` placeholders, the names in `$n` order.

    Returns (sql, None) when the statement uses `?` (or no placeholder). Raises DialectError
    when it mixes `?` and `:name`.
    """
    out: list[str] = []
    position = 0
    marks = 0
    names: dict[str, int] = {}
    for match in _TOKENS.finditer(sql):
        out.append(sql[position : match.start()])
        position = match.end()
        if match["skip"] is not None:
            out.append(match["skip"])
        elif match["mark"] is not None:
            marks += 1
            out.append(f"${marks}")
        elif match["name"] is not None:
            number = names.setdefault(match["name"], len(names) + 1)
            out.append(f"${number}")
        else:
            word = match["word"]
            upper = word.upper()
            if upper == "INTEGER":
                out.append("BIGINT")
            elif upper == "INSTR" and sql[match.end() : match.end() + 1] == "(":
                out.append("strpos")
            else:
                out.append(word)
    out.append(sql[position:])
    if marks and names:
        raise DialectError("a statement uses both ? and :name placeholders")
    text = "".join(out)
    if _OR_IGNORE.search(text):
        text = _OR_IGNORE.sub("INSERT INTO", text)
        returning = _RETURNING.search(text)
        if returning:
            text = f"{text[: returning.start()]}ON CONFLICT DO NOTHING {text[returning.start() :]}"
        else:
            text = f"{text.rstrip().rstrip(';')} ON CONFLICT DO NOTHING"
    return text, tuple(names) if names else None


def bind(names: tuple[str, ...] | None, parameters: Iterable[Any] | Mapping[str, Any]) -> list[Any]:
    """The arguments in `$n` order for a statement `to_postgres` translated.

    Raises DialectError when a `:name` has no value."""
    if names is None:
        if isinstance(parameters, Mapping):
            raise DialectError("named parameters given to a statement with ? placeholders")
        return list(parameters)
    if not isinstance(parameters, Mapping):
        raise DialectError("a statement with :name placeholders needs a mapping")
    missing = [name for name in names if name not in parameters]
    if missing:
        raise DialectError(f"no value for :{', :'.join(missing)}")
    return [parameters[name] for name in names]


def returns_rows(sql: str) -> bool:
    """Whether the (translated) statement yields rows: a query, or a change with RETURNING."""
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in ("SELECT", "WITH", "VALUES", "SHOW") or bool(_RETURNING.search(sql))


def migration_script(sql: str, dialect: str) -> str:
    """A migration file's text for one dialect.

    Lines under `-- dialect: sqlite` or `-- dialect: postgresql` are kept only for that
    dialect, up to the next marker; `-- dialect: all` returns to shared text. For PostgreSQL
    the shared text is rewritten as `to_postgres` does, `INTEGER PRIMARY KEY` becomes an
    identity column (what a SQLite rowid alias is) and `WITHOUT ROWID` is dropped.
    """
    if dialect not in DIALECTS:
        raise DialectError(f"unknown dialect {dialect!r}")
    kept: list[str] = []
    current = "all"
    position = 0
    for marker in _BLOCK.finditer(sql):
        if current in ("all", dialect):
            kept.append(sql[position : marker.start()])
        current = marker[1].lower()
        if current not in ("all", *DIALECTS):
            raise DialectError(f"unknown dialect block {current!r}")
        position = marker.end()
    if current in ("all", dialect):
        kept.append(sql[position:])
    text = "".join(kept)
    if dialect == SQLITE:
        return text
    text = re.sub(
        r"\bINTEGER\s+PRIMARY\s+KEY\b",
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        text,
        flags=re.IGNORECASE,
    )
    text = re.sub(r"\)\s*WITHOUT\s+ROWID\s*;", ");", text, flags=re.IGNORECASE)
    translated, names = to_postgres(text)
    if names:
        raise DialectError("a migration cannot have :name placeholders")
    return translated
