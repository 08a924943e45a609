"""Items (headlines and articles seen on sources): storing them once, listing, searching."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.database import Database
from storage.dialect import POSTGRESQL, SQLITE
from storage.models import NewItem, StoredItem, from_epoch, to_epoch

ITEM_COLUMNS = _COLUMNS = (
    "i.id, i.uid, i.source_id, s.name, i.url, i.title, i.published_at, i.sort_at, i.urgent,"
    " i.summary, i.image_url, i.story_id"
)


# A word, as bot.news.text.words cuts a search into words: letters and digits, no punctuation.
_WORD = re.compile(r"[^\W_]+")
_INSERT = (
    "INSERT INTO items (uid, source_id, url, title, normalized_title, normalized_text,"
    " published_at, sort_at, urgent, summary, image_url, story_id, fetched_at{search})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?{mark}) ON CONFLICT DO NOTHING"
)
# On PostgreSQL the search index is a column that storage fills (SQLite's FTS5 triggers do it
# there): the same statement with one more value.
_INSERTS = {
    SQLITE: _INSERT.format(search="", mark=""),
    POSTGRESQL: _INSERT.format(search=", search_words", mark=", ?"),
}


def search_words(text: str) -> list[str]:
    """The distinct words of `text`, in order, as the PostgreSQL search index keeps them.

    SQLite's FTS5 index (tokenize 'unicode61 remove_diacritics 2') cuts text into runs of
    letters and digits, lowercases them and drops their diacritics; this does the same in
    Python for PostgreSQL, on what is stored and on what is searched, so that both backends
    find the same items."""
    folded = unicodedata.normalize("NFD", text.lower())
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return list(dict.fromkeys(_WORD.findall(bare)))


def item_from_row(row: Sequence[Any]) -> StoredItem:
    """A StoredItem from the ITEM_COLUMNS of a query."""
    return _item(row)


def _item(row: Sequence[Any]) -> StoredItem:
    sort_at = from_epoch(row[7])
    assert sort_at is not None
    return StoredItem(
        id=row[0],
        uid=row[1],
        source_id=row[2],
        source_name=row[3],
        url=row[4],
        title=row[5],
        published_at=from_epoch(row[6]),
        sort_at=sort_at,
        urgent=bool(row[8]),
        summary=row[9],
        image_url=row[10],
        story_id=row[11],
    )


def _row(item: NewItem, dialect: str) -> tuple[Any, ...]:
    fetched = to_epoch(item.fetched_at)
    published = to_epoch(item.published_at) if item.published_at else None
    # A clock running ahead on the site must not pin an item to the top of /latest.
    sort_at = min(published, fetched) if published is not None else fetched
    return (
        item.uid,
        item.source_id,
        item.url,
        item.title,
        item.normalized_title,
        item.normalized_text,
        published,
        sort_at,
        int(item.urgent),
        item.summary,
        item.image_url,
        item.story_id,
        fetched,
    ) + (
        (search_words(f"{item.normalized_title} {item.normalized_text}"),)
        if dialect == POSTGRESQL
        else ()
    )


async def insert_new(db: Database, items: Sequence[NewItem]) -> list[int | None]:
    """Store the items not seen before (by uid or URL).

    Returns, for each item in order, its new id, or None where it was already stored.
    """
    inserted: list[int | None] = []
    async with db.transaction() as conn:
        for item in items:
            cursor = await conn.execute(
                _INSERTS[db.dialect] + " RETURNING id", _row(item, db.dialect)
            )
            row = await cursor.fetchone()
            inserted.append(int(row[0]) if row else None)
    return inserted


async def insert_many(db: Database, items: Sequence[NewItem]) -> int:
    """Bulk insert (imports, benchmarks), ignoring duplicates; returns how many were new."""
    async with db.transaction() as conn:
        return await conn.executemany(
            _INSERTS[db.dialect], [_row(item, db.dialect) for item in items]
        )


async def latest(
    db: Database, limit: int, offset: int = 0, urgent_only: bool = False
) -> list[StoredItem]:
    """The newest items across enabled sources, newest first, each story once (its first
    item: later headlines of the same story carry its id): what /latest and /urgent show."""
    where = "s.disabled = 0 AND i.story_id IS NULL" + (" AND i.urgent = 1" if urgent_only else "")
    cursor = await db.reader.execute(
        f"SELECT {_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id"
        f" WHERE {where} ORDER BY i.sort_at DESC, i.id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [_item(row) for row in await cursor.fetchall()]


async def get(db: Database, item_id: int) -> StoredItem | None:
    cursor = await db.reader.execute(
        f"SELECT {_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id WHERE i.id = ?",
        (item_id,),
    )
    row = await cursor.fetchone()
    return _item(row) if row else None


async def search(db: Database, words: Sequence[str], limit: int) -> list[StoredItem]:
    """Items whose normalized title or text holds every word (already normalized), newest first."""
    terms = [w for w in words if w]
    if not terms:
        return []
    if db.dialect == POSTGRESQL:
        # Every word among the item's words: the GIN index on search_words answers @>.
        wanted = search_words(" ".join(terms))
        if not wanted:
            return []
        cursor = await db.reader.execute(
            f"SELECT {_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id"
            " WHERE i.search_words @> ? ORDER BY i.sort_at DESC LIMIT ?",
            (wanted, limit),
        )
        return [_item(row) for row in await cursor.fetchall()]
    # Each word is quoted as an FTS5 string, so user input can never be read as query syntax.
    match = " ".join('"' + w.replace('"', '""') + '"' for w in terms)
    cursor = await db.reader.execute(
        f"SELECT {_COLUMNS} FROM items_fts f JOIN items i ON i.id = f.rowid"
        " JOIN sources s ON s.id = i.source_id"
        " WHERE items_fts MATCH ? ORDER BY i.sort_at DESC LIMIT ?",
        (match, limit),
    )
    return [_item(row) for row in await cursor.fetchall()]


async def recent_titles(db: Database, since: datetime) -> list[tuple[int, str, int | None]]:
    """(id, normalized title, story id) of items seen since `since`: the dedup window."""
    cursor = await db.reader.execute(
        "SELECT id, normalized_title, story_id FROM items WHERE fetched_at >= ? ORDER BY id",
        (to_epoch(since),),
    )
    return [(row[0], row[1], row[2]) for row in await cursor.fetchall()]


async def titles_after(db: Database, after: int) -> list[tuple[int, str, int | None]]:
    """(id, normalized title, story id) of the items whose id is above `after`, by id: what
    other workers of the fleet stored since (the primary key's range, no scan)."""
    cursor = await db.reader.execute(
        "SELECT id, normalized_title, story_id FROM items WHERE id > ? ORDER BY id", (after,)
    )
    return [(row[0], row[1], row[2]) for row in await cursor.fetchall()]


async def known_uids(db: Database, uids: Sequence[str]) -> set[str]:
    """Which of these stable ids are already stored."""
    found: set[str] = set()
    unique = list(dict.fromkeys(uids))
    # SQLite caps bound parameters; 500 at a time stays far below every build's limit.
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        cursor = await db.reader.execute(f"SELECT uid FROM items WHERE uid IN ({marks})", chunk)
        found.update(row[0] for row in await cursor.fetchall())
    return found


async def mark_urgent(db: Database, uids: Sequence[str]) -> list[int]:
    """Flag stored items as urgent (a ticker now lists them); the ids of those that changed."""
    changed: list[int] = []
    async with db.transaction() as conn:
        for uid in uids:
            cursor = await conn.execute(
                "UPDATE items SET urgent = 1 WHERE uid = ? AND urgent = 0 RETURNING id", (uid,)
            )
            changed.extend(row[0] for row in await cursor.fetchall())
    return changed


async def id_of(db: Database, uid: str) -> int | None:
    cursor = await db.reader.execute("SELECT id FROM items WHERE uid = ?", (uid,))
    row = await cursor.fetchone()
    return int(row[0]) if row else None


async def since(db: Database, moment: datetime, limit: int) -> list[StoredItem]:
    """Items seen since `moment` from enabled sources, newest first (digests)."""
    cursor = await db.reader.execute(
        f"SELECT {_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id"
        " WHERE s.disabled = 0 AND i.fetched_at >= ? ORDER BY i.sort_at DESC, i.id DESC LIMIT ?",
        (to_epoch(moment), limit),
    )
    return [_item(row) for row in await cursor.fetchall()]


async def article_summary(db: Database, item_id: int) -> list[str] | None:
    """The summary computed earlier for this item's article, if any."""
    cursor = await db.reader.execute("SELECT article_summary FROM items WHERE id = ?", (item_id,))
    row = await cursor.fetchone()
    if not row or row[0] is None:
        return None
    sentences: list[str] = json.loads(row[0])
    return sentences


async def save_article_summary(db: Database, item_id: int, sentences: Sequence[str]) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE items SET article_summary = ? WHERE id = ?",
            (json.dumps(list(sentences), ensure_ascii=False), item_id),
        )


async def find_by_url(db: Database, url: str) -> StoredItem | None:
    cursor = await db.reader.execute(
        f"SELECT {_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id WHERE i.url = ?",
        (url,),
    )
    row = await cursor.fetchone()
    return _item(row) if row else None
