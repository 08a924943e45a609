"""An alert's fan-out in batches (storage/fanout.py, bot/alerts/fanout.py): every chat once
across batches and crashes, the subscribers' filters at every batch, one alert per story and
chat when two fan-outs of a story overlap, a second alert not queued behind the first's tail,
and commands' writes between batches. Orders of claims and events, never times."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.fanout import FanOutWalker, NotLeading
from storage import Database, fanout, leases, outbox, sources, subscribers
from storage.models import FanOutProgress
from storage.sources import SourceSpec
from tests import test_outbox_promises as promises
from tests.test_outbox_promises import NOW, _item, _source

WINDOW = 24 * 3600
RATE = 10.0  # messages a second: a batch of 3 deliveries is 300 ms of the sender
ZONE = ZoneInfo("Etc/GMT+2")  # NOW is 10:00:30 there: minute 600, as the polls say


async def _alert(db: Database, item_id: int, source_id: int, **kw: Any) -> int:
    kw.setdefault("text", "انقطاع التيار الكهربائي في المطار")
    return await promises._alert(db, item_id, source_id, rate=RATE, **kw)


def _walker(db: Database, batch: int, now: datetime = NOW, **kw: object) -> FanOutWalker:
    return FanOutWalker(db, ZONE, clock=lambda: now, batch=batch, **kw)  # type: ignore[arg-type]


async def _deliveries(db: Database) -> list[tuple[int, int]]:
    rows = await db.reader.execute_fetchall(
        "SELECT item_id, chat_id FROM deliveries ORDER BY item_id, chat_id"
    )
    return [(r[0], r[1]) for r in rows]


async def test_a_large_audience_is_walked_in_batches_each_chat_once(db: Database) -> None:
    source = await _source(db)
    chats = [-1001, -5, 1, 2, 3, 7, 8, 9, 10, 11]  # groups (negative ids) first
    await subscribers.add_many(db, [(c, "private", "ar") for c in chats])
    item = await _item(db, source, 1)
    assert await _alert(db, item, source, batch=3) == 3  # the first batch, in the poll
    assert await _deliveries(db) == [(item, -1001), (item, -5), (item, 1)]
    assert await fanout.unfinished(db) == 1
    assert await fanout.progress(db) == FanOutProgress(alerts=1, chats_left=7)
    steps = []
    while (done := await fanout.step(db, now=NOW, local_minute=600, batch=3)) is not None:
        steps.append((done.added, done.done))
        assert len(steps) < 10, "the cursor does not move"
        if len(steps) == 1:
            assert await fanout.progress(db) == FanOutProgress(alerts=1, chats_left=4)
    assert steps == [(3, False), (3, False), (1, True)]
    assert await _deliveries(db) == [(item, c) for c in chats]
    assert await fanout.unfinished(db) == 0
    assert await fanout.progress(db) == FanOutProgress(alerts=0, chats_left=0)
    # Ranks: each batch later than the last by its size over the rate (3 at 10/s: 300 ms).
    rows = await db.reader.execute_fetchall(
        "SELECT chat_id, queue_at FROM deliveries ORDER BY chat_id"
    )
    start = int(NOW.timestamp()) * 1000
    assert {r[0]: r[1] - start for r in rows} == {
        -1001: 0,
        -5: 0,
        1: 0,
        2: 300,
        3: 300,
        7: 300,
        8: 600,
        9: 600,
        10: 600,
        11: 900,
    }


async def test_every_filter_holds_in_every_batch(db: Database) -> None:
    source, other = (
        s.id
        for s in await sources.sync(
            db,
            [
                SourceSpec("site", "https://site.ma/", "rss"),
                SourceSpec("other", "https://other.ma/", "rss"),
            ],
        )
    )
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 13)])
    await subscribers.set_preferences(db, 2, alert_level="digest")
    await subscribers.deactivate(db, [4], "blocked")
    await subscribers.set_source_enabled(db, 6, source, False)
    await subscribers.set_source_enabled(db, 7, other, False)  # another source: still alerted
    await subscribers.set_filters(db, 8, add=["ميناء"])  # not in the text
    await subscribers.set_filters(db, 9, add=["المطار"])
    await subscribers.set_preferences(db, 10, quiet=(540, 660), quiet_to_digest=True)
    await subscribers.set_preferences(db, 11, quiet=(540, 660))
    await subscribers.set_preferences(db, 12, alert_level="all")
    item = await _item(db, source, 1)
    await _alert(db, item, source, batch=2)
    assert await _walker(db, batch=2).drain() > 0
    rows = await db.reader.execute_fetchall(
        "SELECT chat_id, not_before FROM deliveries ORDER BY chat_id"
    )
    stamp = int(NOW.timestamp())
    assert [(r[0], r[1] - stamp) for r in rows] == [
        (1, 0),
        (3, 0),
        (5, 0),
        (7, 0),
        (9, 0),
        (11, 60 * 60 - 30),  # quiet until 11:00 (it is 10:00:30)
        (12, 0),
    ]


async def test_a_crash_between_batches_resumes_at_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "ajil.db"
    db = await Database.open(path)
    source = await _source(db)
    users = list(range(1, 12))
    await subscribers.add_many(db, [(n, "private", "ar") for n in users])
    item = await _item(db, source, 1)
    await _alert(db, item, source, batch=3)
    assert await fanout.step(db, now=NOW, local_minute=600, batch=3) is not None
    # A crash in the middle of a batch: its transaction rolls back, cursor and rows together.
    with pytest.raises(RuntimeError):
        async with db.transaction():
            step = await fanout.step(db, now=NOW, local_minute=600, batch=3)
            assert step is not None and step.added == 3
            raise RuntimeError("killed")
    walked = await _deliveries(db)
    assert walked == [(item, n) for n in range(1, 7)]
    await db.close()  # the process is gone; what is left is the file

    db = await Database.open(path)
    try:
        woken: list[int] = []
        walker = _walker(db, batch=3, wake_sender=lambda: woken.append(1))
        assert await asyncio.wait_for(walker.drain(), 60) == 5
        assert len(woken) == 2  # after each batch that added deliveries
        assert await _deliveries(db) == [(item, n) for n in users]
        assert await fanout.unfinished(db) == 0
        claims = await outbox.claim_due(db, 100, NOW)
        assert Counter(c.chat_id for c in claims) == Counter(users)
    finally:
        await db.close()


async def _claimed(db: Database, now: datetime) -> list[tuple[int | None, int]]:
    """Everything due, claimed three at a time as a sender with a small window would."""
    taken: list[tuple[int | None, int]] = []
    while claims := await outbox.claim_due(db, 3, now):
        taken += [(c.item.id if c.item else None, c.chat_id) for c in claims]
    return taken


async def _second_alert_mid_first(db: Database) -> tuple[int, int, datetime]:
    """Nine chats; a first alert walked in batches of 3 and its first batch claimed; a
    second alert 400 ms later, walked too. Returns (first, second, the second's time)."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 10)])
    first = await _item(db, source, 1)
    await _alert(db, first, source, batch=3)
    await _walker(db, batch=3).drain()  # 9 chats: batches rank +0, +300 and +600 ms
    head = await outbox.claim_due(db, 3, NOW)
    assert {c.chat_id for c in head} == {1, 2, 3}
    later = NOW + timedelta(milliseconds=400)
    second = await _item(db, source, 2)
    await _alert(db, second, source, batch=3, now=later, text="زلزال في المطار")
    await _walker(db, batch=3, now=later).drain()  # +400, +700 and +1000 ms
    return first, second, later


async def test_one_claim_returns_the_alerts_in_turns(db: Database) -> None:
    """The sender sends a claim in the order it is returned: by rank, not by row id (the
    first alert's tail was written before the second alert's head)."""
    first, second, later = await _second_alert_mid_first(db)
    claims = await outbox.claim_due(db, 9, later)
    assert [(c.item.id if c.item else None, c.chat_id) for c in claims] == [
        *[(first, n) for n in (4, 5, 6)],
        *[(second, n) for n in (1, 2, 3)],
        *[(first, n) for n in (7, 8, 9)],
    ]


async def test_a_second_alert_goes_before_the_first_ones_tail(db: Database) -> None:
    first, second, later = await _second_alert_mid_first(db)
    # The two alerts take turns from the second's arrival, instead of the second waiting
    # behind all of the first.
    assert await _claimed(db, later) == [
        *[(first, n) for n in (4, 5, 6)],
        *[(second, n) for n in (1, 2, 3)],
        *[(first, n) for n in (7, 8, 9)],
        *[(second, n) for n in (4, 5, 6)],
        *[(second, n) for n in (7, 8, 9)],
    ]


async def test_an_urgent_alert_goes_before_an_earlier_ordinary_one(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 7)])
    for n in range(1, 7):
        await subscribers.set_preferences(db, n, alert_level="all")
    ordinary = await _item(db, source, 1)
    await _alert(db, ordinary, source, batch=2, urgent=False)
    urgent = await _item(db, source, 2)
    later = NOW + timedelta(seconds=30)
    await _alert(db, urgent, source, batch=2, now=later)
    steps = []
    while (done := await fanout.step(db, now=later, local_minute=600, batch=2)) is not None:
        steps.append(done.item_id)
    assert steps == [urgent, urgent, ordinary, ordinary]  # the walk too: urgent first
    claimed = await _claimed(db, later)
    assert claimed == [(urgent, n) for n in range(1, 7)] + [(ordinary, n) for n in range(1, 7)]


async def test_two_fan_outs_of_one_story_reach_each_chat_once(db: Database) -> None:
    """The story's first alert is still being walked when a second item of the story is
    alerted and walked to the end: the chats the first had not reached yet got the second,
    and the first's walk must then skip them."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 10)])
    first = await _item(db, source, 1)
    await _alert(db, first, source, batch=3)  # chats 1-3
    again = await _item(db, source, 2, story_id=first)
    await _alert(db, again, source, batch=20, story_id=first)  # all of its audience at once
    assert await _walker(db, batch=3).drain() == 0
    rows = await _deliveries(db)
    assert rows == [(first, n) for n in (1, 2, 3)] + [(again, n) for n in range(4, 10)]


async def test_commands_write_between_the_batches_of_a_large_fan_out(db: Database) -> None:
    """A settings change asked while a fan-out is being walked is written after one batch,
    not after the whole audience: the walker's batches and the command take turns."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 41)])
    item = await _item(db, source, 1)
    await _alert(db, item, source, batch=2)
    events: list[str] = []
    asked = asyncio.Event()

    async def change_settings() -> None:  # another task, as an update's handler is
        await asked.wait()
        await subscribers.set_preferences(db, 40, alert_level="all")
        events.append("command")

    def after_batch() -> None:
        events.append("batch")
        asked.set()

    command = asyncio.create_task(change_settings())
    await asyncio.wait_for(_walker(db, batch=2, wake_sender=after_batch).drain(), 60)
    await command
    assert events.count("batch") == 19
    assert events.index("command") <= 2, events


async def test_the_walker_carries_on_a_fan_out_left_by_another_process(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 8)])
    item = await _item(db, source, 1)
    await _alert(db, item, source, batch=2)
    stop = asyncio.Event()
    woken: list[int] = []

    def sender_woken() -> None:
        woken.append(1)
        if len(woken) == 3:  # the last batch: stop once the walk is over
            stop.set()

    walker = _walker(db, batch=2, wake_sender=sender_woken)
    await asyncio.wait_for(walker.run(stop), 60)  # its first walk needs no wake()
    assert await fanout.unfinished(db) == 0
    assert await _deliveries(db) == [(item, n) for n in range(1, 8)]


async def test_a_stopping_walker_leaves_the_rest_to_the_next(db: Database) -> None:
    """Shutting down mid-fan-out does not wait for the whole audience: the walker stops after
    its batch, and the next one (after a restart, or another leader) carries on."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 12)])
    item = await _item(db, source, 1)
    await _alert(db, item, source, batch=2)
    stop = asyncio.Event()
    first = _walker(db, batch=2, wake_sender=stop.set)  # asked to stop during its first batch
    await asyncio.wait_for(first.run(stop), 60)
    assert len(await _deliveries(db)) == 4 and await fanout.unfinished(db) == 1
    assert await asyncio.wait_for(_walker(db, batch=2).drain(), 60) == 7
    assert await _deliveries(db) == [(item, n) for n in range(1, 12)]


async def _alert_led_by_a(db: Database) -> int:
    """Seven chats, an alert's first batch of 2 written, and worker "A" leading from NOW for
    8 s; returns the alert's item id."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 8)])
    item = await _item(db, source, 1)
    await _alert(db, item, source, batch=2)
    assert await leases.acquire(db, leases.LEADER, "A", int(NOW.timestamp()), 8) is not None
    return item


async def test_a_deposed_leaders_walker_writes_nothing(db: Database) -> None:
    """The walker is fenced like the sender's claims: once another worker holds the leader
    lease, a batch of the old leader's walker is refused whole (no delivery, the cursor where
    it was), and the new leader's walker carries on from the cursor."""
    item = await _alert_led_by_a(db)
    t0 = int(NOW.timestamp())
    assert await fanout.step(db, now=NOW, local_minute=600, batch=2, leader="A") is not None
    assert len(await _deliveries(db)) == 4  # A leads: its batch is written
    later = NOW + timedelta(seconds=9)
    assert await leases.acquire(db, leases.LEADER, "B", t0 + 9, 8) is not None
    refused = await fanout.step(db, now=later, local_minute=600, batch=2, leader="A")
    assert refused is not None and refused.refused and refused.added == 0
    a = _walker(db, batch=2, now=later, worker="A", fence=lambda: True)
    with pytest.raises(NotLeading):
        await a.drain()
    assert len(await _deliveries(db)) == 4 and await fanout.unfinished(db) == 1
    # Its own fence down (the lease may be passing), a walker does not even ask.
    b = _walker(db, batch=2, now=later, worker="B", fence=lambda: False)
    with pytest.raises(NotLeading):
        await b.drain()
    b = _walker(db, batch=2, now=later, worker="B", fence=lambda: True)
    assert await b.drain() == 3
    assert await _deliveries(db) == [(item, n) for n in range(1, 8)]


async def test_a_leader_whose_lease_ran_out_walks_nothing(db: Database) -> None:
    """The lease fences by its end too, not only by its holder: a leader that could not renew
    (no successor yet) writes no batch from the second its lease ends, as its claims."""
    await _alert_led_by_a(db)
    last = await fanout.step(
        db, now=NOW + timedelta(seconds=7), local_minute=600, batch=2, leader="A"
    )
    assert last is not None and not last.refused and last.added == 2
    ended = await fanout.step(
        db, now=NOW + timedelta(seconds=8), local_minute=600, batch=2, leader="A"
    )
    assert ended is not None and ended.refused and ended.added == 0
    assert len(await _deliveries(db)) == 4 and await fanout.unfinished(db) == 1


async def _refuse_deliveries(db: Database, refuse: bool) -> None:
    """Make every new delivery fail (as a full disk would) or work again, on either backend."""
    if db.dialect == "sqlite":
        statements = (
            [
                "CREATE TRIGGER refuse BEFORE INSERT ON deliveries"
                " BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
            ]
            if refuse
            else ["DROP TRIGGER refuse"]
        )
    else:
        statements = (
            [
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$",
                "CREATE TRIGGER refuse BEFORE INSERT ON deliveries"
                " FOR EACH ROW EXECUTE FUNCTION refuse()",
            ]
            if refuse
            else ["DROP TRIGGER refuse ON deliveries", "DROP FUNCTION refuse()"]
        )
    async with db.transaction() as conn:
        for statement in statements:
            await conn.execute(statement)


async def test_a_batch_that_cannot_be_written_is_tried_again(db: Database) -> None:
    """The database refuses writes for a while (a full disk): the walker says so, keeps
    nothing of the failed batch (its cursor stays), and carries on once writes work again."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 8)])
    item = await _item(db, source, 1)
    await _alert(db, item, source, batch=2)  # chats 1-2; 3-4, 5-6 and 7 are left
    failed = asyncio.Event()

    class Failures(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "cannot write a batch" in record.getMessage():
                failed.set()

    handler = Failures()
    logging.getLogger("bot.alerts.fanout").addHandler(handler)
    stop = asyncio.Event()
    batches: list[int] = []

    def batch_written() -> None:
        batches.append(1)
        if len(batches) == 3:  # the last one
            stop.set()

    await _refuse_deliveries(db, True)
    try:
        walker = _walker(db, batch=2, retry_s=0.01, wake_sender=batch_written)
        task = asyncio.create_task(walker.run(stop))
        await asyncio.wait_for(failed.wait(), 60)
        assert await fanout.unfinished(db) == 1 and len(await _deliveries(db)) == 2
        await _refuse_deliveries(db, False)
        await asyncio.wait_for(task, 60)
    finally:
        logging.getLogger("bot.alerts.fanout").removeHandler(handler)
    assert await _deliveries(db) == [(item, n) for n in range(1, 8)]
    assert await fanout.unfinished(db) == 0


async def test_a_refused_alert_stops_its_walk(db: Database) -> None:
    """Telegram refuses the alert's text (the sender breaks the item): the chats its fan-out
    has not reached yet must not be queued the refused message by the walker's later batches."""
    source = await _source(db)
    await subscribers.add_many(db, [(c, "private", "ar") for c in range(1, 11)])
    item = await _item(db, source, 1)
    assert await _alert(db, item, source, batch=3) == 3
    assert await outbox.break_item(db, item, "Bad Request: can't parse entities") == 3
    assert await fanout.unfinished(db) == 0
    assert await _walker(db, batch=3).drain() == 0
    rows = await db.reader.execute_fetchall(
        "SELECT state, count(*) FROM deliveries GROUP BY state ORDER BY state"
    )
    assert [(r[0], r[1]) for r in rows] == [("broken", 3)]
