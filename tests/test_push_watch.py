"""Pushed messages through the watcher: the same store, dedup, freshness and outbox as polled
items. A push is new even before the source's first poll; a push of a story already polled
(by its link, or without one, by its title) sends nothing twice; a message that cannot be read
is said in the log and loses nothing else."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.watcher import Watcher
from bot.config import Config, SourceConfig
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.sandbox.newsroom import CHANNEL, Newsroom
from bot.sandbox.pusher import PushServer
from storage import Database, items, subscribers
from storage import sources as source_store
from storage.sources import SourceSpec

USERS = [71, 72]


@pytest.fixture
async def site() -> AsyncIterator[Newsroom]:
    push = PushServer()  # not started: the watcher is fed directly here
    newsroom = Newsroom(push=push)
    await newsroom.start()
    yield newsroom
    await newsroom.stop()


@pytest.fixture
async def watcher(
    db: Database, site: Newsroom, tmp_path: Path
) -> AsyncIterator[tuple[Watcher, Database]]:
    source = SourceConfig(
        name="madina",
        url=site.url,
        kind="pusher",
        key="k",
        ws_url="ws://127.0.0.1:1",
        channel=CHANNEL,
        event="e",
    )
    config = Config(sources=[source])
    await source_store.sync(db, [SourceSpec("madina", site.url, "pusher")])
    await subscribers.add_many(db, [(u, "private", "ar") for u in USERS])
    async with HttpFetcher(policy=FetchPolicy([site.url])) as fetcher:
        yield Watcher(db, config, fetcher), db


async def deliveries(db: Database) -> list[tuple[int, int]]:
    rows = await db.reader.execute_fetchall("SELECT item_id, chat_id FROM deliveries ORDER BY 1, 2")
    return [(int(a), int(b)) for a, b in rows]


def pushed(html: str) -> str:
    return json.dumps({"message": html})


async def test_a_push_before_the_first_poll_alerts_and_the_poll_then_adds_nothing(
    watcher: tuple[Watcher, Database], site: Newsroom
) -> None:
    watch, db = watcher
    story = site.publish_urgent()
    now = datetime.now(UTC)
    (arrival,) = await watch.pushed("madina", pushed(site.bar_entry(story)), now)
    assert arrival.urgent and arrival.item.title == story.title
    assert await deliveries(db) == [(arrival.item_id, u) for u in USERS]
    stored = await items.get(db, arrival.item_id)
    assert stored is not None and stored.urgent and stored.url == site.url + story.path[1:]
    # The first poll (it primes the source) and the next find the story in the feed: known.
    assert await watch.poll("madina") == []
    assert await watch.poll("madina") == []
    assert len(await deliveries(db)) == len(USERS)


async def test_a_push_of_a_story_already_polled_sends_nothing_twice(
    watcher: tuple[Watcher, Database], site: Newsroom
) -> None:
    watch, db = watcher
    await watch.poll("madina")  # primes
    story = site.publish_urgent()
    (polled,) = [a for a in await watch.poll("madina") if a.urgent]
    assert polled.item.title == story.title
    sent = await deliveries(db)
    assert len(sent) == len(USERS)
    now = datetime.now(UTC)
    # With its link: the same item.
    assert await watch.pushed("madina", pushed(site.bar_entry(story)), now) == []
    # Without a link (a flash with the same words): the same story, told to no one again.
    flash = await watch.pushed("madina", pushed(f"<span>عاجل: {story.title}</span>"), now)
    assert all(a.duplicate for a in flash)
    assert await deliveries(db) == sent


async def test_a_pushed_text_without_a_link_is_an_urgent_item_of_the_site(
    watcher: tuple[Watcher, Database], site: Newsroom
) -> None:
    watch, db = watcher
    now = datetime.now(UTC)
    (arrival,) = await watch.pushed("madina", pushed("انفجار قنينة غاز بمقهى وسط المدينة"), now)
    assert arrival.item.url == site.url
    assert arrival.item.uid == "title:madina:انفجار قنينه غاز بمقهي وسط المدينه"
    # Pushed again: the same id, nothing new.
    assert await watch.pushed("madina", pushed("انفجار قنينة غاز بمقهى وسط المدينة"), now) == []
    assert len(await deliveries(db)) == len(USERS)


async def test_two_pushed_texts_without_links_are_two_alerts(
    watcher: tuple[Watcher, Database], site: Newsroom
) -> None:
    # Both carry the site's front page as their URL; their ids come from their texts.
    watch, db = watcher
    now = datetime.now(UTC)
    (first,) = await watch.pushed("madina", pushed("زلزال بقوة خمس درجات يضرب إقليم الحسيمة"), now)
    (second,) = await watch.pushed("madina", pushed("فيضانات تغمر أحياء في مدينة تطوان"), now)
    assert first.item.url == second.item.url == site.url
    assert first.item_id != second.item_id
    assert len(await deliveries(db)) == 2 * len(USERS)
    # Kept under the front page with a fragment of their own: the link still opens it.
    rows = await db.reader.execute_fetchall("SELECT url FROM items ORDER BY id")
    kept = [row[0] for row in rows]
    assert len(set(kept)) == 2 and all(u.startswith(site.url + "#") for u in kept)


async def test_an_unreadable_push_is_logged_and_changes_nothing(
    watcher: tuple[Watcher, Database], caplog: pytest.LogCaptureFixture
) -> None:
    watch, db = watcher
    caplog.set_level(logging.INFO, logger="bot.alerts.watcher")
    now = datetime.now(UTC)
    assert await watch.pushed("madina", json.dumps({"text": "x"}), now) == []
    assert "no 'message' in the pushed data (its keys: text); set message_field" in caplog.text
    assert await watch.pushed("madina", pushed("<span>عاجل</span>"), now) == []
    assert "held no headline" in caplog.text
    assert await deliveries(db) == []


async def test_a_disabled_source_takes_no_push(
    watcher: tuple[Watcher, Database], site: Newsroom
) -> None:
    watch, db = watcher
    await source_store.set_disabled(db, "madina", True)
    story = site.publish_urgent()
    assert await watch.pushed("madina", pushed(site.bar_entry(story)), datetime.now(UTC)) == []
    assert await deliveries(db) == []


async def test_pushes_are_counted_by_result(
    watcher: tuple[Watcher, Database], site: Newsroom
) -> None:
    from prometheus_client import generate_latest

    from bot.ops.metrics import Metrics

    watch, _ = watcher
    watch.metrics = Metrics()
    story = site.publish_urgent()
    now = datetime.now(UTC)
    await watch.pushed("madina", pushed(site.bar_entry(story)), now)
    await watch.pushed("madina", pushed(site.bar_entry(story)), now)
    await watch.pushed("madina", "{}", now)
    text = generate_latest(watch.metrics.registry).decode()
    assert 'ajil_pushes_total{result="new",source="madina"} 1.0' in text
    assert 'ajil_pushes_total{result="seen",source="madina"} 1.0' in text
    assert 'ajil_pushes_total{result="unread",source="madina"} 1.0' in text


async def test_a_refused_push_channel_is_the_sources_warning_at_its_next_poll(
    watcher: tuple[Watcher, Database],
) -> None:
    from bot.alerts.pushes import PushWatch

    watch, db = watcher
    watch.push_watch = PushWatch(watch)  # not started: its client's state is set by hand
    await watch.poll("madina")
    state = await source_store.get(db, "madina")
    assert state is not None and state.warning is None  # the empty bar is no fault here
    client = watch.push_watch.clients["madina"]
    client.refused, client.last_error = True, "4001 App key does not exist"
    await watch.poll("madina")
    state = await source_store.get(db, "madina")
    assert state is not None and state.warning == (
        "push channel refused (4001 App key does not exist): check key, cluster or ws_url"
    )
    # Working again (the operator fixed the key and restarted): the warning goes at the next
    # poll, though the page is unchanged.
    client.refused, client.connected = False, True
    await watch.poll("madina")
    state = await source_store.get(db, "madina")
    assert state is not None and state.warning is None


async def test_ajil_fetch_reads_a_pusher_sources_site_and_says_where_its_urgent_stories_come(
    site: Newsroom, write_config: Any
) -> None:
    from tests.test_cli_news import ajil

    site.publish_urgent()
    config = write_config(site.push_source_toml())
    code, out, err = await ajil("fetch", "--config", str(config))
    assert code == 0, err  # the empty bar is no warning: the push fills it
    assert "urgent block: div.urgent labelled «عاجل»" in err
    assert "madina: urgent stories are pushed on madina-channel (madina-push-event)" in err
    assert site.latest(1)[0].title in out


async def test_a_push_flood_alerts_the_sources_cap_a_minute_and_stores_the_rest(
    watcher: tuple[Watcher, Database],
) -> None:
    watch, db = watcher
    cap = watch.sources["madina"].pushes_per_minute
    assert cap == 10  # the default
    start = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    alerted = []
    for n in range(cap + 5):
        sent = await watch.pushed("madina", pushed(f"حريق في المستودع رقم {n + 1} بالميناء"), start)
        alerted += sent
    assert len(alerted) == cap
    assert len(await deliveries(db)) == cap * len(USERS)
    # Held back, not lost: every story is stored (for /latest and /search).
    (count,) = (await db.reader.execute_fetchall("SELECT count(*) FROM items"))[0]
    assert count == cap + 5
    state = await source_store.get(db, "madina")
    assert state is not None and state.warning == (
        "push channel flood: 5 pushed stories held back (more than 10 a minute): "
        "stored, not alerted"
    )
    # The admins hear of it at once, not after the 30 minutes of an ordinary warning.
    from bot.ops.incidents import Incidents

    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    incidents = Incidents(db, ["madina"], 25, notify, clock=lambda: start)
    (flood,) = await incidents.check()
    assert flood.startswith("🌊 المصدر madina") and "أخبار حُفظت دون تنبيه: 5" in flood
    assert await incidents.check() == []  # once
    # A minute later the channel is heard again, and the warning stays while the flood is
    # remembered; a poll ten minutes after the last story held back clears it.
    later = start + timedelta(seconds=61)
    (_alerted,) = await watch.pushed(
        "madina", pushed("انقطاع الماء عن أحياء المدينة العتيقة"), later
    )
    assert len(await deliveries(db)) == (cap + 1) * len(USERS)
    watch.clock = lambda: start + timedelta(minutes=5)
    await watch.poll("madina")
    state = await source_store.get(db, "madina")
    assert state is not None and (state.warning or "").startswith("push channel flood: 5 ")
    watch.clock = lambda: start + timedelta(minutes=11)
    await watch.poll("madina")
    state = await source_store.get(db, "madina")
    assert state is not None and state.warning is None
    (over,) = await incidents.check()
    assert over.startswith("✅") and "madina" in over


def test_pushes_per_minute_is_for_pusher_sources_and_bounded() -> None:
    base = {"name": "m", "url": "https://m.example/"}
    with pytest.raises(ValueError, match="pushes_per_minute: only for kind"):
        SourceConfig(**base, pushes_per_minute=5)
    pusher = {**base, "kind": "pusher", "key": "k", "cluster": "eu", "channel": "c", "event": "e"}
    assert SourceConfig(**pusher, pushes_per_minute=3).pushes_per_minute == 3
    with pytest.raises(ValueError):
        SourceConfig(**pusher, pushes_per_minute=0)
