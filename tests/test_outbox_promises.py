"""The outbox's promises, on the path the product takes (the alert enqueue -> claim -> outcomes).

One alert per story and chat within the window; the subscriber's level, sources, keywords and
quiet hours decide who gets an item; a claim takes what is due, urgent first; outcomes are
written to the right rows. Each test pins a clause that mutation testing showed unguarded
(docs/TESTING.md); breaking the clause makes the test fail.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from storage import Database, fanout, items, notices, outbox, sources, subscribers
from storage.models import DeliveryOutcome, DeliveryState, NewItem, Priority
from storage.sources import SourceSpec

# In the past, so that rows the code stamps with the real time are told apart from these.
NOW = datetime(2025, 3, 10, 12, 0, 30, tzinfo=UTC)  # 30 s into the minute
STAMP = int(NOW.timestamp())
WINDOW = 24 * 3600
RATE = 25.0


async def _source(db: Database) -> int:
    states = await sources.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
    return states[0].id


async def _item(
    db: Database, source_id: int, n: int, story_id: int | None = None, urgent: bool = True
) -> int:
    (item_id,) = await items.insert_new(
        db,
        [
            NewItem(
                uid=f"https://site.ma/{n}",
                source_id=source_id,
                url=f"https://site.ma/{n}",
                title=f"خبر رقم {n}",
                normalized_title=f"خبر رقم {n}",
                published_at=NOW,
                fetched_at=NOW,
                urgent=urgent,
                story_id=story_id,
            )
        ],
    )
    assert item_id is not None
    return item_id


async def _alert(
    db: Database,
    item_id: int,
    source_id: int,
    *,
    story_id: int | None = None,
    urgent: bool = True,
    now: datetime = NOW,
    minute: int = 600,
    text: str = "انقطاع التيار الكهربائي",
    batch: int | None = None,
    rate: float = RATE,
) -> int:
    return await fanout.enqueue_alert(
        db,
        item_id=item_id,
        source_id=source_id,
        urgent=urgent,
        story_id=story_id,
        text=text,
        now=now,
        local_minute=minute,
        story_window=WINDOW,
        rate=rate,
        batch=batch,
    )


async def _rows(db: Database) -> list[tuple[int, int, int, int, str]]:
    """(item_id, chat_id, priority, not_before, state) of every delivery, by chat then item."""
    return [
        (r[0], r[1], r[2], r[3], r[4])
        for r in await db.reader.execute_fetchall(
            "SELECT item_id, chat_id, priority, not_before, state FROM deliveries"
            " ORDER BY chat_id, item_id"
        )
    ]


async def _chats_of(db: Database, item_id: int) -> list[int]:
    rows = await db.reader.execute_fetchall(
        "SELECT chat_id FROM deliveries WHERE item_id = ? ORDER BY chat_id", (item_id,)
    )
    return [r[0] for r in rows]


# -- one alert per story and chat ------------------------------------------------------------


async def test_a_second_item_of_a_story_is_not_enqueued_for_a_chat_that_had_the_first(
    db: Database,
) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(1, "private", "ar")])
    first = await _item(db, source, 1)
    assert await _alert(db, first, source) == 1
    again = await _item(db, source, 2, story_id=first)
    assert await _alert(db, again, source, story_id=first) == 0
    assert await _chats_of(db, again) == []
    # A new story (no story id) is enqueued as usual.
    other = await _item(db, source, 3)
    assert await _alert(db, other, source) == 1


async def test_the_story_clause_looks_at_each_chat_alone(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(1, "private", "ar")])
    first = await _item(db, source, 1)
    await _alert(db, first, source)
    await subscribers.add_many(db, [(2, "private", "ar")])  # subscribed after the first alert
    again = await _item(db, source, 2, story_id=first)
    assert await _alert(db, again, source, story_id=first) == 1
    assert await _chats_of(db, again) == [2]


async def test_an_earlier_duplicate_of_the_story_counts_too(db: Database) -> None:
    """Chat 2 got the story through its second item (its filter skipped the first): a third
    item of the story must not reach it again."""
    source = await _source(db)
    await subscribers.add_many(db, [(1, "private", "ar"), (2, "private", "ar")])
    await subscribers.set_filters(db, 2, add=["مطار"])
    first = await _item(db, source, 1)
    await _alert(db, first, source, text="حريق قرب الميناء")
    assert await _chats_of(db, first) == [1]
    second = await _item(db, source, 2, story_id=first)
    await _alert(db, second, source, story_id=first, text="حريق قرب المطار")
    assert await _chats_of(db, second) == [2]
    third = await _item(db, source, 3, story_id=first)
    assert await _alert(db, third, source, story_id=first, text="حريق المطار") == 0


async def test_another_storys_alert_does_not_hold_this_one(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(1, "private", "ar")])
    one = await _item(db, source, 1)
    two = await _item(db, source, 2)
    await _alert(db, one, source)
    duplicate_of_two = await _item(db, source, 3, story_id=two)
    assert await _alert(db, duplicate_of_two, source, story_id=two) == 1


async def test_the_story_window_ends_after_exactly_story_window_seconds(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(1, "private", "ar")])
    first = await _item(db, source, 1)
    await _alert(db, first, source)  # created at NOW
    at_edge = await _item(db, source, 2, story_id=first)
    edge = NOW + timedelta(seconds=WINDOW)  # since == the first alert's created_at: held
    assert await _alert(db, at_edge, source, story_id=first, now=edge) == 0
    after = await _item(db, source, 3, story_id=first)
    later = edge + timedelta(seconds=1)
    assert await _alert(db, after, source, story_id=first, now=later) == 1


# -- who gets an item ---------------------------------------------------------------------------


async def test_alert_levels_priority_and_inactive_chats(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(
        db, [(1, "private", "ar"), (2, "private", "ar"), (3, "private", "ar"), (4, "private", "ar")]
    )
    await subscribers.set_preferences(db, 2, alert_level="all")
    await subscribers.set_preferences(db, 3, alert_level="digest")
    await subscribers.deactivate(db, [4], "blocked")
    urgent = await _item(db, source, 1)
    assert await _alert(db, urgent, source) == 2
    ordinary = await _item(db, source, 2, urgent=False)
    assert await _alert(db, ordinary, source, urgent=False) == 1
    assert await _rows(db) == [
        (urgent, 1, Priority.URGENT, STAMP, "pending"),
        (urgent, 2, Priority.URGENT, STAMP, "pending"),
        (ordinary, 2, Priority.NORMAL, STAMP, "pending"),
    ]
    rows = await db.reader.execute_fetchall("SELECT created_at, updated_at FROM deliveries")
    assert {tuple(r) for r in rows} == {(STAMP, STAMP)}


async def test_a_source_switched_off_or_back_on(db: Database) -> None:
    source, other = (
        s.id
        for s in await sources.sync(
            db,
            [
                SourceSpec("site", "https://site.ma/", "rss"),
                SourceSpec("a", "https://a.ma/", "rss"),
            ],
        )
    )
    await subscribers.add_many(db, [(n, "private", "ar") for n in (1, 2, 3)])
    await subscribers.set_source_enabled(db, 1, source, False)
    await subscribers.set_source_enabled(db, 1, other, True)
    await subscribers.set_source_enabled(db, 2, source, True)
    await subscribers.set_source_enabled(db, 3, other, False)  # another source off: not this one
    item = await _item(db, source, 1)
    assert await _alert(db, item, source) == 2
    assert await _chats_of(db, item) == [2, 3]


async def test_keyword_filters_take_only_items_that_contain_a_word(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(1, "private", "ar"), (2, "private", "ar")])
    await subscribers.set_filters(db, 1, add=["مطار", "زلزال"])
    await subscribers.set_filters(db, 2, add=["ميناء"])
    item = await _item(db, source, 1)
    assert await _alert(db, item, source, text="هزة زلزال بقوة 5 درجات") == 1
    assert await _chats_of(db, item) == [1]
    starts_with_it = await _item(db, source, 2)
    assert await _alert(db, starts_with_it, source, text="ميناء طنجة") == 1  # instr() = 1
    assert await _chats_of(db, starts_with_it) == [2]


async def test_quiet_hours_delay_to_their_end_or_go_to_the_digest(db: Database) -> None:
    source = await _source(db)
    chats = [(n, "private", "ar") for n in range(1, 9)]
    await subscribers.add_many(db, chats)  # type: ignore[arg-type]
    await subscribers.set_preferences(db, 1, quiet=(540, 660))  # 9:00-11:00, now 10:00
    await subscribers.set_preferences(db, 2, quiet=(540, 660), quiet_to_digest=True)
    await subscribers.set_preferences(db, 3, quiet=(1380, 720))  # over midnight, 23:00-12:00
    await subscribers.set_preferences(db, 4, quiet=(600, 700))  # starts this very minute
    await subscribers.set_preferences(db, 5, quiet=(400, 600))  # ended this very minute
    await subscribers.set_preferences(db, 6, quiet=(600, 600))  # empty: never quiet
    await subscribers.set_preferences(db, 7, quiet=(700, 500))  # over midnight, not now
    # Quiet items go to its digest, but outside its quiet hours it is alerted as usual.
    await subscribers.set_preferences(db, 8, quiet=(700, 800), quiet_to_digest=True)
    item = await _item(db, source, 1)
    assert await _alert(db, item, source, minute=600) == 7
    start_of_minute = STAMP - 30
    by_chat = {r[1]: r[3] for r in await _rows(db)}
    assert by_chat == {
        1: start_of_minute + 60 * 60,
        3: start_of_minute + 120 * 60,
        4: start_of_minute + 100 * 60,
        5: STAMP,
        6: STAMP,
        7: STAMP,
        8: STAMP,
    }


async def test_quiet_hours_over_midnight_before_midnight(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(1, "private", "ar"), (2, "private", "ar")])
    await subscribers.set_preferences(db, 1, quiet=(1380, 120))  # 23:00-02:00, now 23:30
    await subscribers.set_preferences(db, 2, quiet=(1380, 120), quiet_to_digest=False)
    item = await _item(db, source, 1)
    assert await _alert(db, item, source, minute=1410) == 2
    assert {r[3] for r in await _rows(db)} == {STAMP - 30 + 150 * 60}
    early = await _item(db, source, 2)
    await _alert(db, early, source, minute=60)  # 1:00, still quiet
    rows = await db.reader.execute_fetchall(
        "SELECT not_before FROM deliveries WHERE item_id = ?", (early,)
    )
    assert {r[0] for r in rows} == {STAMP - 30 + 60 * 60}


async def test_enqueueing_an_item_twice_adds_nothing(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(1, "private", "ar")])
    item = await _item(db, source, 1)
    assert await _alert(db, item, source) == 1
    assert await _alert(db, item, source) == 0
    assert len(await _rows(db)) == 1


# -- claims -------------------------------------------------------------------------------------


async def test_a_claim_takes_what_is_due_urgent_first_oldest_first(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "fr") for n in (1, 2, 3, 4)])
    await subscribers.set_preferences(db, 2, alert_level="all")
    await subscribers.set_preferences(db, 4, topic_id=77)
    normal = await _item(db, source, 1, urgent=False)
    await _alert(db, normal, source, urgent=False)  # chat 2 only
    urgent = await _item(db, source, 2)
    await _alert(db, urgent, source)  # chats 1-4
    await subscribers.set_preferences(db, 3, quiet=(0, 1439))
    later = await _item(db, source, 3)
    await _alert(db, later, source, minute=600)  # chat 3 is quiet: not due yet
    # Chat 3 is quiet now: `later` waits for it. Urgent before normal, then oldest first.
    claims = await outbox.claim_due(db, 5, NOW)
    assert [(c.item.id if c.item else None, c.priority) for c in claims] == [
        *[(urgent, 0)] * 4,
        (later, 0),
    ]
    assert {c.chat_id for c in claims[:4]} == {1, 2, 3, 4}
    assert {c.language for c in claims} == {"fr"} and {c.chat_type for c in claims} == {"private"}
    assert all(c.notice_kind is None and c.attempts == 0 for c in claims)
    assert {c.topic_id for c in claims if c.chat_id == 4} == {77}
    assert {c.topic_id for c in claims if c.chat_id != 4} == {None}
    rest = await outbox.claim_due(db, 10, NOW)
    assert [(c.item.id if c.item else None, c.priority) for c in rest] == [
        (later, 0),
        (later, 0),
        (normal, 1),
    ]
    assert await outbox.claim_due(db, 10, NOW) == []  # the quiet one is not due
    states = await db.reader.execute_fetchall("SELECT item_id, chat_id, state FROM deliveries")
    assert [tuple(r) for r in states if r[2] == "pending"] == [(later, 3, "pending")]
    quiet_end = datetime.fromtimestamp(STAMP - 30 + (1439 - 600) * 60, UTC)
    assert await outbox.claim_due(db, 10, quiet_end - timedelta(seconds=1)) == []
    assert [c.chat_id for c in await outbox.claim_due(db, 10, quiet_end)] == [3]


async def test_a_claim_carries_a_notice(db: Database) -> None:
    await subscribers.add_many(db, [(1, "private", "ar"), (2, "group", "en")])
    notice = await notices.create(db, "broadcast", "صيانة الليلة")
    assert await outbox.enqueue_notice(db, notice, [2], Priority.NORMAL) == 1
    assert await outbox.enqueue_notice(db, notice, [2], Priority.NORMAL) == 0
    assert await outbox.enqueue_notice(db, notice, None, Priority.URGENT) == 1  # chat 1 only
    assert await outbox.enqueue_notice(db, notice, None, Priority.URGENT) == 0
    claims = await outbox.claim_due(db, 10, datetime.now(UTC))
    assert [(c.chat_id, c.priority, c.chat_type, c.language) for c in claims] == [
        (1, 0, "private", "ar"),
        (2, 1, "group", "en"),
    ]
    assert {(c.notice_kind, c.notice_body, c.item) for c in claims} == {
        ("broadcast", "صيانة الليلة", None)
    }


async def test_requeue_puts_back_only_what_was_being_sent(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in (1, 2, 3)])
    item = await _item(db, source, 1)
    await _alert(db, item, source)
    claims = await outbox.claim_due(db, 2, NOW, worker="gone")
    await outbox.record_outcomes(
        db, [DeliveryOutcome(claims[0].delivery_id, DeliveryState.SENT, 1)]
    )
    assert await outbox.requeue_claims(db, NOW, ["gone"]) == 1
    assert await outbox.requeue_claims(db, NOW, ["gone"]) == 0
    rows = await db.reader.execute_fetchall("SELECT state, count(*) FROM deliveries GROUP BY state")
    assert dict(rows) == {"sent": 1, "pending": 2}


# -- outcomes -----------------------------------------------------------------------------------


async def test_outcomes_are_written_to_their_own_rows(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in (1, 2, 3, 4)])
    item = await _item(db, source, 1)
    await _alert(db, item, source)
    a, b, c, d = await outbox.claim_due(db, 10, NOW)
    retry_at = NOW + timedelta(minutes=5)
    before = int(time.time())
    await outbox.record_outcomes(
        db,
        [
            DeliveryOutcome(a.delivery_id, DeliveryState.SENT, 1, None, message_id=501),
            DeliveryOutcome(b.delivery_id, DeliveryState.PENDING, 2, "timed out", None, retry_at),
            DeliveryOutcome(c.delivery_id, DeliveryState.DROPPED, 1, "Forbidden: bot was blocked"),
        ],
    )
    after = int(time.time())
    rows = {
        r[0]: tuple(r[1:])
        for r in await db.reader.execute_fetchall(
            "SELECT chat_id, state, attempts, last_error, message_id, not_before, updated_at"
            " FROM deliveries"
        )
    }
    assert rows[1][:5] == ("sent", 1, None, 501, STAMP)
    assert rows[2][:5] == ("pending", 2, "timed out", None, int(retry_at.timestamp()))
    assert rows[3][:5] == ("dropped", 1, "Forbidden: bot was blocked", None, STAMP)
    assert rows[4][:5] == ("sending", 0, None, None, STAMP)  # untouched
    assert all(before <= rows[chat][5] <= after for chat in (1, 2, 3))
    assert rows[4][5] == STAMP
    # A later outcome without a message id or a time keeps the ones recorded.
    await outbox.record_outcomes(db, [DeliveryOutcome(a.delivery_id, DeliveryState.SENT, 2)])
    kept = await db.reader.execute_fetchall(
        "SELECT message_id, not_before, attempts FROM deliveries WHERE id = ?", (a.delivery_id,)
    )
    assert tuple(kept[0]) == (501, STAMP, 2)
    await outbox.record_outcomes(db, [])  # nothing to write: no transaction, no error
    assert d.chat_id == 4


async def test_a_refused_item_is_stopped_for_every_unsent_delivery(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in (1, 2, 3)])
    item = await _item(db, source, 1)
    other = await _item(db, source, 2)
    await _alert(db, item, source)
    await _alert(db, other, source)
    (sent, sending) = await outbox.claim_due(db, 2, NOW)
    await outbox.record_outcomes(db, [DeliveryOutcome(sent.delivery_id, DeliveryState.SENT, 1)])
    reason = "Can't parse entities: " + "x" * 400
    assert await outbox.break_item(db, item, reason) == 2  # the one in flight and the pending one
    rows = await db.reader.execute_fetchall(
        "SELECT item_id, chat_id, state, last_error FROM deliveries ORDER BY item_id, chat_id"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (item, 1, "sent"),
        (item, 2, "broken"),
        (item, 3, "broken"),
        (other, 1, "pending"),
        (other, 2, "pending"),
        (other, 3, "pending"),
    ]
    assert rows[1][3] == reason[:300] and rows[0][3] is None
    assert await outbox.break_item(db, item, reason) == 0  # nothing unsent is left
    assert sending.chat_id == 2


async def test_the_refused_delivery_is_recorded_with_the_stop_as_tried(db: Database) -> None:
    """The delivery Telegram refused carries its own try (state broken, its attempts, the
    reason), written with the stop; it is not counted among the stopped. A broadcast the same,
    by its text. The outcome is fenced like `record_outcomes`: a row another worker holds now
    is only stopped."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in (1, 2, 3)])
    item = await _item(db, source, 1)
    await _alert(db, item, source)
    (refused, taken) = await outbox.claim_due(db, 2, NOW, worker="w1")
    reason = "Bad Request: can't parse entities"
    outcome = DeliveryOutcome(refused.delivery_id, DeliveryState.BROKEN, 1, reason)
    assert await outbox.break_item(db, item, reason, outcome, "w1") == 2  # taken, and chat 3
    rows = await db.reader.execute_fetchall(
        "SELECT chat_id, state, attempts, last_error FROM deliveries ORDER BY chat_id"
    )
    assert [tuple(r) for r in rows] == [
        (1, "broken", 1, reason),
        (2, "broken", 0, reason),
        (3, "broken", 0, reason),
    ]
    assert taken.chat_id == 2
    notice = await notices.create(db, "broadcast", "نص مرفوض")
    await outbox.enqueue_notice(db, notice, [1, 2], 0)
    (first, second) = await outbox.claim_due(db, 2, datetime.now(UTC), worker="w1")
    async with db.transaction() as conn:  # another worker took it over meanwhile
        await conn.execute(
            "UPDATE deliveries SET claimed_by = 'w2' WHERE id = ?", (second.delivery_id,)
        )
    late = DeliveryOutcome(second.delivery_id, DeliveryState.BROKEN, 1, reason)
    assert await outbox.break_notice(db, "broadcast", "نص مرفوض", reason, late, "w1") == 2
    rows = await db.reader.execute_fetchall(
        "SELECT chat_id, state, attempts FROM deliveries WHERE notice_id = ? ORDER BY chat_id",
        (notice,),
    )
    assert [tuple(r) for r in rows] == [(first.chat_id, "broken", 0), (second.chat_id, "broken", 0)]


async def test_backlog_and_the_stats_window(db: Database) -> None:
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in (1, 2, 3)])
    await subscribers.set_preferences(db, 3, quiet=(0, 1439))
    item = await _item(db, source, 1)
    await _alert(db, item, source, minute=600)
    assert await outbox.pending_count(db, NOW) == 2  # chat 3 is not due
    assert await outbox.pending_count(db, NOW - timedelta(seconds=1)) == 0
    (one, _two) = await outbox.claim_due(db, 2, NOW)
    assert await outbox.pending_count(db, NOW) == 2  # 'sending' is still backlog
    await outbox.record_outcomes(db, [DeliveryOutcome(one.delivery_id, DeliveryState.SENT, 1)])
    assert await outbox.pending_count(db, NOW) == 1
    recent = await outbox.outcomes_since(db, datetime.now(UTC) - timedelta(minutes=1))
    assert recent[DeliveryState.SENT] == 1 and sum(recent.values()) == 1
    everything = await outbox.outcomes_since(db, NOW - timedelta(seconds=1))
    assert everything[DeliveryState.SENT] == 1 and everything[DeliveryState.SENDING] == 1
    assert everything[DeliveryState.PENDING] == 1 and everything[DeliveryState.FAILED] == 0
    assert (await outbox.outcomes_since(db, NOW + timedelta(days=3650)))[DeliveryState.SENT] == 0
    (stamp,) = await db.reader.execute_fetchall(
        "SELECT updated_at FROM deliveries WHERE id = ?", (one.delivery_id,)
    )
    at_edge = await outbox.outcomes_since(db, datetime.fromtimestamp(stamp[0], UTC))
    assert at_edge[DeliveryState.SENT] == 1  # updated exactly at the window's start: counted
