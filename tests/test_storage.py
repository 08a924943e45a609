"""The database: migrations, refusing what it cannot use, the outbox on the product's path
(alert enqueue, claim, outcomes) in bulk, concurrent use."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import Database, StorageError, fanout, items, outbox, sources, subscribers
from storage.database import Migration, bundled_migrations
from storage.models import DeliveryOutcome, DeliveryState, NewItem, Priority
from storage.sources import SourceSpec

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def new_item(source_id: int, n: int, urgent: bool = False, title: str | None = None) -> NewItem:
    return NewItem(
        uid=f"https://site.ma/{n}",
        source_id=source_id,
        url=f"https://site.ma/{n}",
        title=title or f"خبر رقم {n}",
        normalized_title=title or f"خبر رقم {n}",
        published_at=NOW - timedelta(minutes=n),
        fetched_at=NOW,
        urgent=urgent,
    )


async def one_source(db: Database) -> int:
    (state,) = await sources.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
    return state.id


async def test_new_database_gets_every_migration(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.db")
    try:
        assert await db.schema_version() == len(bundled_migrations())
        cursor = await db.reader.execute("PRAGMA journal_mode")
        assert (await cursor.fetchone())[0] == "wal"
        cursor = await db.writer.execute("PRAGMA foreign_keys")
        assert (await cursor.fetchone())[0] == 1
    finally:
        await db.close()


async def test_existing_database_is_upgraded_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    first = bundled_migrations()
    db = await Database.open(path, first)
    await subscribers.subscribe(db, 42, "private")
    await db.close()

    extra = Migration(len(first) + 1, "note", "ALTER TABLE subscribers ADD COLUMN note TEXT;")
    db = await Database.open(path, [*first, extra])
    try:
        assert await db.schema_version() == len(first) + 1
        cursor = await db.reader.execute("SELECT chat_id, note FROM subscribers")
        assert await cursor.fetchall() == [(42, None)]
    finally:
        await db.close()
    # Opening again applies nothing twice.
    db = await Database.open(path, [*first, extra])
    await db.close()


async def test_failed_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    first = bundled_migrations()
    bad = Migration(
        len(first) + 1, "bad", "CREATE TABLE half (x INTEGER);\nINSERT INTO nowhere VALUES (1);"
    )
    with pytest.raises(StorageError):
        await Database.open(path, [*first, bad])
    db = await Database.open(path, first)
    try:
        assert await db.schema_version() == len(first)
        cursor = await db.reader.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half'")
        assert (await cursor.fetchone())[0] == 0
    finally:
        await db.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(StorageError, match="schema version 999, newer than this Ajil"):
        await Database.open(path)


async def test_corrupt_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError) as caught:
        await Database.open(path)
    assert str(path) in str(caught.value)
    assert "not a usable SQLite database" in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
async def test_unwritable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    (await Database.open(path)).writer  # noqa: B018
    path.chmod(0o400)
    with pytest.raises(StorageError, match="cannot be written"):
        await Database.open(path)


async def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        await Database.open(tmp_path / "no" / "such" / "ajil.db")


async def test_read_only_folder_even_as_root(tmp_path: Path) -> None:
    # A path under /proc can never hold a database, whoever runs the test.
    with pytest.raises(StorageError):
        await Database.open(Path("/proc/ajil-test.db"))


async def alert(db: Database, item_id: int, source_id: int, urgent: bool = True) -> int:
    """The product's alert enqueue (bot/alerts/watcher.py), for a new story at 10:00 local:
    the poll's first batch, then the walker's (bot/alerts/fanout.py) to the last chat."""
    now = datetime.now(UTC)
    added = await fanout.enqueue_alert(
        db,
        item_id=item_id,
        source_id=source_id,
        urgent=urgent,
        story_id=None,
        text="",
        now=now,
        local_minute=600,
        story_window=24 * 3600,
        rate=30.0,
    )
    while done := await fanout.step(db, now=now, local_minute=600):
        added += done.added
    return added


async def states(db: Database) -> dict[str, int]:
    """How many deliveries are in each state, straight from the table."""
    rows = await db.reader.execute_fetchall("SELECT state, count(*) FROM deliveries GROUP BY state")
    return {row[0]: row[1] for row in rows}


async def test_an_alert_reaches_every_active_subscriber_once(db: Database) -> None:
    source_id = await one_source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 1001)])
    await subscribers.deactivate(db, [5, 6, 7], "blocked")
    (item_id,) = await items.insert_new(db, [new_item(source_id, 1, urgent=True)])

    assert await alert(db, item_id, source_id) == 997
    # Enqueueing the same item again adds nothing: no duplicate alerts.
    assert await alert(db, item_id, source_id) == 0
    assert await states(db) == {"pending": 997}


async def test_alerts_are_claimed_urgent_first_and_their_outcomes_recorded(db: Database) -> None:
    source_id = await one_source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in (1, 2, 3)])
    await subscribers.set_preferences(db, 1, alert_level="all")  # takes ordinary items too
    await subscribers.set_preferences(db, 3, quiet=(540, 660))  # 9:00-11:00: waits
    normal, urgent = await items.insert_new(
        db, [new_item(source_id, 1), new_item(source_id, 2, urgent=True)]
    )
    assert normal is not None and urgent is not None
    assert await alert(db, normal, source_id, urgent=False) == 1  # chat 1 only
    assert await alert(db, urgent, source_id) == 3
    assert await alert(db, normal, source_id, urgent=False) == 0  # a repeat
    # The ordinary item was queued first, but a claim takes the urgent ones first.
    claims = await outbox.claim_due(db, 2, datetime.now(UTC))
    claims += await outbox.claim_due(db, 10, datetime.now(UTC))
    assert [(c.chat_id, c.priority, c.item and c.item.id) for c in claims] == [
        (1, Priority.URGENT, urgent),
        (2, Priority.URGENT, urgent),
        (1, Priority.NORMAL, normal),
    ]

    await outbox.record_outcomes(
        db,
        [
            DeliveryOutcome(claims[0].delivery_id, DeliveryState.SENT, 1, message_id=77),
            DeliveryOutcome(claims[1].delivery_id, DeliveryState.FAILED, 3, last_error="Forbidden"),
            DeliveryOutcome(claims[2].delivery_id, DeliveryState.SENT, 1, message_id=78),
        ],
    )
    assert await states(db) == {"sent": 2, "failed": 1, "pending": 1}  # chat 3's is quiet
    rows = await db.reader.execute_fetchall(
        "SELECT chat_id, item_id, message_id, last_error FROM deliveries"
        " WHERE state != 'pending' ORDER BY id"
    )
    assert sorted(tuple(r) for r in rows) == [
        (1, normal, 78, None),
        (1, urgent, 77, None),
        (2, urgent, None, "Forbidden"),
    ]


async def test_group_migration_keeps_deliveries(db: Database) -> None:
    source_id = await one_source(db)
    await subscribers.subscribe(db, -100, "group")
    (item_id,) = await items.insert_new(db, [new_item(source_id, 1, urgent=True)])
    assert item_id is not None
    assert await alert(db, item_id, source_id) == 1
    async with db.transaction() as conn:
        await conn.execute("UPDATE subscribers SET chat_id = -1009 WHERE chat_id = -100")
    (claim,) = await outbox.claim_due(db, 5, datetime.now(UTC))
    assert claim.chat_id == -1009 and claim.chat_type == "group"


async def test_items_are_stored_once_and_listed_newest_first(db: Database) -> None:
    source_id = await one_source(db)
    first = await items.insert_new(db, [new_item(source_id, n) for n in (3, 1, 2)])
    again = await items.insert_new(db, [new_item(source_id, 1), new_item(source_id, 4)])
    assert None not in first and len(first) == 3
    assert again[0] is None and again[1] is not None
    latest = await items.latest(db, limit=3)
    assert [i.url for i in latest] == [f"https://site.ma/{n}" for n in (1, 2, 3)]
    assert latest[0].source_name == "site"
    assert (await items.latest(db, limit=2, offset=3))[0].url == "https://site.ma/4"


async def test_an_item_reads_back_as_stored_and_unknown_ones_are_none(db: Database) -> None:
    """get and id_of give back every field as stored (the watcher reads the source and the
    story of a promoted headline, bot/alerts/watcher.py); an id or uid not stored is None;
    /urgent lists urgent items only, each story once."""
    source_id = await one_source(db)
    (first,) = await items.insert_new(db, [new_item(source_id, 1, urgent=True)])
    assert first is not None
    later = replace(new_item(source_id, 2), story_id=first)
    (second, third) = await items.insert_new(db, [later, new_item(source_id, 3)])
    assert second is not None and third is not None
    stored = await items.get(db, second)
    assert stored is not None
    assert (stored.id, stored.uid, stored.source_id, stored.source_name, stored.story_id) == (
        second,
        "https://site.ma/2",
        source_id,
        "site",
        first,
    )
    assert stored.title == "خبر رقم 2" and not stored.urgent
    assert await items.id_of(db, "https://site.ma/3") == third
    assert await items.id_of(db, "https://site.ma/404") is None
    assert await items.get(db, third + 1000) is None
    assert [i.id for i in await items.latest(db, 10, urgent_only=True)] == [first]
    assert [i.id for i in await items.latest(db, 10)] == [first, third]


async def test_future_dates_do_not_pin_items_to_the_top(db: Database) -> None:
    source_id = await one_source(db)
    future = NewItem(
        "u1", source_id, "https://site.ma/f", "t", "t", NOW + timedelta(days=3), fetched_at=NOW
    )
    await items.insert_new(db, [future, new_item(source_id, 0)])
    latest = await items.latest(db, limit=2)
    assert latest[0].sort_at <= NOW


async def test_full_text_search_matches_every_word(db: Database) -> None:
    source_id = await one_source(db)
    await items.insert_new(
        db,
        [
            new_item(source_id, 1, title="امطار غزيره في طنجه"),
            new_item(source_id, 2, title="امطار خفيفه في فاس"),
            new_item(source_id, 3, title='خبر فيه "علامات" AND OR'),
        ],
    )
    found = await items.search(db, ["امطار", "طنجه"], limit=10)
    assert [i.url for i in found] == ["https://site.ma/1"]
    assert len(await items.search(db, ["امطار"], limit=10)) == 2
    # Query syntax in user input is taken literally, never as FTS5 operators.
    assert len(await items.search(db, ['"علامات"', "AND"], limit=10)) == 1
    assert len(await items.search(db, ['علامات"', "خبر"], limit=10)) == 1  # a stray quote
    assert await items.search(db, ["", ""], limit=10) == []


async def test_source_state_survives_sync_and_resets_on_new_url(db: Database) -> None:
    source_id = await one_source(db)
    await sources.record_success(db, source_id, NOW, '"etag-1"', "Sun, 29 Nov 2026 10:00:00 GMT")
    state = await sources.record_failure(db, source_id, NOW, "HTTP 500", NOW + timedelta(minutes=2))
    assert state.consecutive_failures == 1 and state.last_error == "HTTP 500"
    (state,) = await sources.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
    assert state.etag == '"etag-1"' and state.primed
    (state,) = await sources.sync(db, [SourceSpec("site", "https://other.ma/", "rss")])
    assert state.etag is None and not state.primed


async def test_reader_and_writer_at_once_never_lock(db: Database) -> None:
    source_id = await one_source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 201)])

    async def write() -> None:
        for n in range(200):
            (item_id,) = await items.insert_new(db, [new_item(source_id, n, urgent=True)])
            assert item_id is not None
            await alert(db, item_id, source_id)

    async def read() -> int:
        reads = 0
        for _ in range(300):
            await items.latest(db, limit=20)
            await outbox.pending_summary(db)
            reads += 1
        return reads

    # A second process-like connection writing at the same time, too.
    other = await Database.open(db.target)
    try:

        async def write_elsewhere() -> None:
            for n in range(100):
                await subscribers.subscribe(other, 10_000 + n, "private")

        _, reads, _ = await asyncio.gather(write(), read(), write_elsewhere())
    finally:
        await other.close()
    assert reads == 300
    # Every item reached the first 200 subscribers, and some of the 100 joining meanwhile.
    pending, _ = await outbox.pending_summary(db)
    assert 200 * 200 <= pending <= 200 * 300


async def test_nested_transactions_commit_or_roll_back_together(db: Database) -> None:
    source_id = await one_source(db)
    await subscribers.add_many(db, [(1, "private", "ar")])
    with pytest.raises(RuntimeError):
        async with db.transaction():
            (item_id,) = await items.insert_new(db, [new_item(source_id, 1, urgent=True)])
            assert item_id is not None
            await alert(db, item_id, source_id)
            raise RuntimeError("crash between the item and its deliveries")
    assert await items.latest(db, 5) == []
    assert await states(db) == {}
    async with db.transaction():
        (item_id,) = await items.insert_new(db, [new_item(source_id, 1, urgent=True)])
        assert item_id is not None
        assert await alert(db, item_id, source_id) == 1
    assert len(await items.latest(db, 5)) == 1
