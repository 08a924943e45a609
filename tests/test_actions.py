"""The use cases behind the commands (bot.actions): what each one writes, and that each is one
transaction: a write failing part-way leaves nothing of the change behind.

The failure is a real one inside the database, on each backend: a trigger that aborts the use
case's later write (as a full disk or an I/O error would), so the earlier writes have already
been executed when it fails.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot import actions
from bot.config import Config, from_mapping
from storage import Database, StorageError, sources, subscribers
from storage.dialect import POSTGRESQL
from storage.sources import SourceSpec

CHAT = actions.ChatRef(70, "private", None, "fr")
GROUP = actions.ChatRef(-80, "group", "حي الأمل", "ar")


def config_of(*sources: tuple[str, str | None]) -> Config:
    listed = [
        {"name": name, "url": f"http://127.0.0.1:9/{name}", **({"title": title} if title else {})}
        for name, title in sources
    ]
    return from_mapping({"sources": listed}, Path("config.toml"), env={})


CONFIG = config_of(("hespress", "هسبريس"), ("le360", None), ("kifache", "كيفاش"))


async def synced(db: Database, config: Config = CONFIG) -> dict[str, int]:
    states = await sources.sync(db, [SourceSpec(s.name, s.url, "auto") for s in config.sources])
    return {s.name: s.id for s in states}


# What a failed write raises: sqlite3's error on SQLite, StorageError on PostgreSQL (whose
# driver errors storage wraps); callers catch both.
FAILED = (sqlite3.DatabaseError, StorageError)


async def fail_on(db: Database, table: str, event: str = "INSERT", when: str = "1") -> None:
    """Make the next `event` on `table` matching `when` abort, as a failing disk would."""
    async with db.transaction() as conn:
        if db.dialect == POSTGRESQL:
            await conn.execute(
                "CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS"
                " 'BEGIN RAISE EXCEPTION ''disk I/O error (simulated)''; END'"
            )
            condition = "true" if when == "1" else when
            await conn.execute(
                f"CREATE TRIGGER broken BEFORE {event} ON {table} FOR EACH ROW"
                f" WHEN ({condition}) EXECUTE FUNCTION broken()"
            )
            return
        await conn.execute(
            f"CREATE TEMP TRIGGER broken BEFORE {event} ON {table} WHEN {when}"
            " BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END"
        )


async def count(db: Database, sql: str) -> int:
    cursor = await db.reader.execute(sql)
    row = await cursor.fetchone()
    return int(row[0])


def test_source_titles_live_on_the_configuration() -> None:
    assert CONFIG.source_titles == {"hespress": "هسبريس", "le360": "le360", "kifache": "كيفاش"}
    assert CONFIG.source_title("kifache") == "كيفاش"
    assert CONFIG.source_title("le360") == "le360"  # no title: its name
    assert CONFIG.source_title("gone") == "gone"  # removed from the file: its items keep a name


async def test_subscribe_to_named_sources(db: Database) -> None:
    ids = await synced(db)
    done = await actions.subscribe(db, CONFIG, GROUP, ["KIFACHE", "le360"])
    assert done.sources == ("كيفاش", "le360")
    assert done.subscriber.active and done.subscriber.title == "حي الأمل"
    assert await subscribers.disabled_sources(db, GROUP.id) == {ids["hespress"]}
    # Subscribing again to every source keeps the chat's choice of sources.
    again = await actions.subscribe(db, CONFIG, GROUP)
    assert again.sources == () and again.subscriber.active
    assert await subscribers.disabled_sources(db, GROUP.id) == {ids["hespress"]}


async def test_subscribe_to_an_unknown_source_writes_nothing(db: Database) -> None:
    await synced(db)
    with pytest.raises(actions.UnknownSource) as raised:
        await actions.subscribe(db, CONFIG, CHAT, ["le360", "nosuch"])
    assert raised.value.name == "nosuch"
    assert raised.value.known == ("hespress", "le360", "kifache")
    assert await subscribers.get(db, CHAT.id) is None


async def test_subscribe_to_named_sources_is_one_transaction(db: Database) -> None:
    ids = await synced(db)
    # The chat's row and the first source's choice are written; the second choice fails.
    await fail_on(db, "subscriber_sources", when=f"NEW.source_id = {ids['kifache']}")
    with pytest.raises(FAILED, match="simulated"):
        await actions.subscribe(db, CONFIG, CHAT, ["le360"])
    assert await subscribers.get(db, CHAT.id) is None
    assert await count(db, "SELECT count(*) FROM subscriber_sources") == 0


async def test_queue_broadcast(db: Database) -> None:
    await subscribers.add_many(db, [(1, "private", "ar"), (2, "private", "fr")])
    await subscribers.deactivate(db, [2], "unsubscribed")
    assert await actions.queue_broadcast(db, "صيانة الليلة") == 1
    assert await count(db, "SELECT count(*) FROM deliveries WHERE chat_id = 1") == 1
    with pytest.raises(actions.BroadcastTooLong) as raised:
        await actions.queue_broadcast(db, "x" * (actions.MAX_BROADCAST + 1))
    assert (raised.value.length, raised.value.limit) == (actions.MAX_BROADCAST + 1, 3500)
    assert await count(db, "SELECT count(*) FROM notices") == 1


async def test_queue_broadcast_is_one_transaction(db: Database) -> None:
    await subscribers.add_many(db, [(1, "private", "ar"), (2, "private", "ar")])
    # The notice is written, then queueing its deliveries fails: no notice is left for nobody.
    await fail_on(db, "deliveries")
    with pytest.raises(FAILED, match="simulated"):
        await actions.queue_broadcast(db, "صيانة الليلة")
    assert await count(db, "SELECT count(*) FROM notices") == 0


async def test_keywords_added_and_removed(db: Database) -> None:
    assert await actions.add_keyword(db, CHAT, "زلزال", "زلزال")
    record = await subscribers.get(db, CHAT.id)
    assert record is not None and not record.active and record.language == "fr"
    assert await actions.remove_keyword(db, CHAT, "فيضان") is None
    assert await actions.remove_keyword(db, CHAT, "زلزال") == "زلزال"
    assert await subscribers.filters(db, CHAT.id) == []
    for n in range(20):
        assert await actions.add_keyword(db, CHAT, f"كلمة{n}", f"كلمة{n}")
    assert not await actions.add_keyword(db, CHAT, "زائدة", "زائدة")  # MAX_FILTERS already
    assert len(await subscribers.filters(db, CHAT.id)) == 20


async def test_add_keyword_is_one_transaction(db: Database) -> None:
    # The chat's record is created, then storing the keyword fails: no record is left.
    await fail_on(db, "subscriber_filters")
    with pytest.raises(FAILED, match="simulated"):
        await actions.add_keyword(db, CHAT, "زلزال", "زلزال")
    assert await subscribers.get(db, CHAT.id) is None


async def test_remove_keyword_is_one_transaction(db: Database) -> None:
    # Removing is a look-up and a delete: in one transaction, two removals of the same word at
    # once (two admins of a group, a double tap) remove it once and say so once.
    await actions.add_keyword(db, GROUP, "زلزال", "زلزال")
    results = await asyncio.gather(
        actions.remove_keyword(db, GROUP, "زلزال"), actions.remove_keyword(db, GROUP, "زلزال")
    )
    assert sorted(results, key=str) == [None, "زلزال"]
    assert await subscribers.filters(db, GROUP.id) == []


async def test_concurrent_adds_keep_the_keyword_limit(db: Database) -> None:
    # The count and the insert are one transaction: two adds at once never make 21 keywords.
    for n in range(19):
        await actions.add_keyword(db, CHAT, f"كلمة{n}", f"كلمة{n}")
    added = await asyncio.gather(
        actions.add_keyword(db, CHAT, "زلزال", "زلزال"),
        actions.add_keyword(db, CHAT, "فيضان", "فيضان"),
    )
    assert sorted(added) == [False, True]
    assert len(await subscribers.filters(db, CHAT.id)) == 20


async def test_change_settings(db: Database) -> None:
    record = await actions.change_settings(db, GROUP, quiet=(1380, 420), digest_at=1200)
    assert (record.quiet_start, record.quiet_end, record.digest_at) == (1380, 420, 1200)
    assert not record.active  # recorded to keep its preferences, not subscribed
    record = await actions.change_settings(db, GROUP, alert_level="all", quiet=None)
    assert record.active and record.alert_level == "all"  # a level subscribes
    assert (record.quiet_start, record.digest_at) == (None, 1200)
    record = await actions.change_settings(db, GROUP, language="en", topic_id=7)
    assert (record.language, record.topic_id) == ("en", 7)


async def test_change_settings_is_one_transaction(db: Database) -> None:
    # The chat is recorded and subscribed, then writing its alert level fails: nothing is left.
    await fail_on(db, "subscribers", event="UPDATE OF alert_level")
    with pytest.raises(FAILED, match="simulated"):
        await actions.change_settings(db, GROUP, alert_level="all")
    assert await subscribers.get(db, GROUP.id) is None


async def test_toggle_source(db: Database) -> None:
    ids = await synced(db)
    toggled = await actions.toggle_source(db, CONFIG, CHAT, ids["le360"])
    assert toggled is not None
    assert [s.name for s in toggled.states] == ["hespress", "le360", "kifache"]
    assert toggled.off == {ids["le360"]}
    back = await actions.toggle_source(db, CONFIG, CHAT, ids["le360"])
    assert back == actions.SourceChoices(toggled.states, set())
    # A forged id, or one of a source no longer configured, writes nothing.
    fewer = config_of(("hespress", None))
    assert await actions.toggle_source(db, fewer, GROUP, ids["le360"]) is None
    assert await actions.toggle_source(db, CONFIG, GROUP, 9999) is None
    assert await subscribers.get(db, GROUP.id) is None


async def test_toggle_source_is_one_transaction(db: Database) -> None:
    ids = await synced(db)
    await fail_on(db, "subscriber_sources")
    with pytest.raises(FAILED, match="simulated"):
        await actions.toggle_source(db, CONFIG, CHAT, ids["le360"])
    assert await subscribers.get(db, CHAT.id) is None


async def test_switch_source_for_everyone(db: Database) -> None:
    await synced(db)
    assert await actions.switch_source(db, CONFIG, "KIFACHE", off=True) == "kifache"
    state = await sources.get(db, "kifache")
    assert state is not None and state.disabled
    assert await actions.switch_source(db, CONFIG, "nosuch", off=True) is None
