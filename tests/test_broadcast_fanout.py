"""A broadcast to every subscriber in batches (storage/fanout.py's `enqueue_broadcast`, the
walker of bot/alerts/fanout.py): every active chat once across batches and crashes, on both
backends; an urgent alert arriving mid-broadcast not queued behind its tail; the walk of an
ordinary broadcast after an urgent alert's. Orders of claims and events, never times."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot import actions
from storage import Database, fanout, notices, outbox, subscribers
from storage.models import FanOutProgress, Priority
from tests.test_fanout import _walker
from tests.test_outbox_promises import NOW, _item, _source
from tests.test_outbox_promises import _alert as _promised_alert

RATE = 10.0  # messages a second: a batch of 3 deliveries is 300 ms of the sender
CHATS = [-1001, -5, 1, 2, 3, 7, 8, 9, 10, 11]  # groups (negative ids) first
OFF = {2, 9}  # unsubscribed: walked past, never delivered


async def _notice_rows(db: Database) -> list[tuple[int, int]]:
    rows = await db.reader.execute_fetchall(
        "SELECT notice_id, chat_id FROM deliveries WHERE notice_id IS NOT NULL"
        " ORDER BY notice_id, chat_id"
    )
    return [(r[0], r[1]) for r in rows]


async def _audience(db: Database) -> list[int]:
    await subscribers.add_many(db, [(c, "private", "ar") for c in CHATS])
    await subscribers.deactivate(db, sorted(OFF), "unsubscribed")
    return [c for c in CHATS if c not in OFF]


async def test_a_broadcast_reaches_every_active_chat_once_across_batches(db: Database) -> None:
    active = await _audience(db)
    # The use case writes the first batch (3 chats walked, one of them unsubscribed) and
    # answers with the whole audience it is queued for.
    assert await actions.queue_broadcast(db, "صيانة الليلة", batch=3) == len(active)
    (notice,) = {n for n, _ in await _notice_rows(db)}
    assert await _notice_rows(db) == [(notice, c) for c in (-1001, -5, 1)]
    assert await fanout.unfinished(db) == 1
    assert await fanout.progress(db) == FanOutProgress(alerts=0, chats_left=7, broadcasts=1)
    steps = []
    while (done := await fanout.step(db, now=NOW, local_minute=600, batch=3)) is not None:
        assert done.notice and done.item_id == notice
        steps.append((done.added, done.done))
        assert len(steps) < 10, "the cursor does not move"
    assert steps == [(2, False), (2, False), (1, True)]  # chats 2 and 9 are off
    assert await _notice_rows(db) == [(notice, c) for c in active]
    assert await fanout.unfinished(db) == 0
    assert await fanout.progress(db) == FanOutProgress(alerts=0, chats_left=0)


async def test_a_broadcast_that_fits_one_batch_leaves_no_cursor(db: Database) -> None:
    active = await _audience(db)
    assert await actions.queue_broadcast(db, "صيانة الليلة") == len(active)
    assert len(await _notice_rows(db)) == len(active)
    assert await fanout.unfinished(db) == 0


async def test_a_crash_between_broadcast_batches_resumes_at_the_cursor(
    database_target: Path | str,
) -> None:
    db = await Database.open(database_target)
    try:
        active = await _audience(db)
        async with db.transaction():
            notice = await notices.create(db, "broadcast", "صيانة الليلة")
            await outbox.enqueue_notice(db, notice, None, Priority.URGENT, rate=RATE, batch=3)
        assert await fanout.step(db, now=NOW, local_minute=600, batch=3) is not None
        # A crash in the middle of a batch: its transaction rolls back, cursor and rows too.
        with pytest.raises(RuntimeError):
            async with db.transaction():
                step = await fanout.step(db, now=NOW, local_minute=600, batch=3)
                assert step is not None and step.added == 2
                raise RuntimeError("killed")
        assert await _notice_rows(db) == [(notice, c) for c in (-1001, -5, 1, 3, 7)]
    finally:
        await db.close()  # the process is gone; what is left is the database

    db = await Database.open(database_target)
    try:
        woken: list[int] = []
        walker = _walker(db, batch=3, wake_sender=lambda: woken.append(1))
        assert await asyncio.wait_for(walker.drain(), 60) == 3
        assert len(woken) == 2  # after each batch that added deliveries
        assert await _notice_rows(db) == [(notice, c) for c in active]
        assert await fanout.unfinished(db) == 0
        claims = await outbox.claim_due(db, 100, NOW + timedelta(days=3650))
        assert Counter(c.chat_id for c in claims) == Counter(active)
    finally:
        await db.close()


async def _claimed(db: Database, now: object) -> list[tuple[str, int]]:
    taken: list[tuple[str, int]] = []
    while claims := await outbox.claim_due(db, 3, now):  # type: ignore[arg-type]
        taken += [("alert" if c.item else "notice", c.chat_id) for c in claims]
    return taken


async def test_an_urgent_alert_goes_before_a_broadcasts_tail(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 10)])
    notice = await notices.create(db, "broadcast", "صيانة الليلة")
    await fanout.enqueue_broadcast(
        db, notice, priority=Priority.URGENT, now=NOW, rate=RATE, batch=3
    )
    await _walker(db, batch=3).drain()  # 9 chats: batches rank +0, +300 and +600 ms
    head = await outbox.claim_due(db, 3, NOW)
    assert {c.chat_id for c in head} == {1, 2, 3}
    later = NOW + timedelta(milliseconds=400)
    item = await _item(db, source, 1)
    await _promised_alert(db, item, source, batch=3, now=later, rate=RATE)
    await _walker(db, batch=3, now=later).drain()  # +400, +700 and +1000 ms
    assert await _claimed(db, later) == [
        *[("notice", n) for n in (4, 5, 6)],
        *[("alert", n) for n in (1, 2, 3)],
        *[("notice", n) for n in (7, 8, 9)],
        *[("alert", n) for n in (4, 5, 6)],
        *[("alert", n) for n in (7, 8, 9)],
    ]


async def test_an_urgent_alerts_walk_goes_before_an_ordinary_broadcasts(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 7)])
    notice = await notices.create(db, "broadcast", "صيانة الليلة")
    await fanout.enqueue_broadcast(
        db, notice, priority=Priority.NORMAL, now=NOW, rate=RATE, batch=2
    )
    later = NOW + timedelta(seconds=30)
    item = await _item(db, source, 1)
    await _promised_alert(db, item, source, batch=2, now=later, rate=RATE)
    steps = []
    while (done := await fanout.step(db, now=later, local_minute=600, batch=2)) is not None:
        steps.append(("notice" if done.notice else "alert", done.item_id))
    assert steps == [("alert", item)] * 2 + [("notice", notice)] * 2
    claimed = await _claimed(db, later)
    assert claimed == [("alert", n) for n in range(1, 7)] + [("notice", n) for n in range(1, 7)]


async def test_a_refused_broadcast_stops_its_walk(db: Database) -> None:
    """Telegram refuses the text (the sender breaks the notice): the chats the walk has not
    reached yet must not be queued the refused text by the later batches."""
    await _audience(db)
    assert await actions.queue_broadcast(db, "صيانة الليلة", batch=3) == 8
    assert await outbox.break_notice(db, "broadcast", "صيانة الليلة", "Bad Request") == 3
    assert await fanout.unfinished(db) == 0
    assert await _walker(db, batch=3).drain() == 0
    rows = await db.reader.execute_fetchall(
        "SELECT count(*) FROM deliveries WHERE state = 'pending'"
    )
    assert rows[0][0] == 0
