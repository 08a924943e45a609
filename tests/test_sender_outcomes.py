"""What the sender writes back for each answer of Telegram: the row's state, its attempts, the
reason in Telegram's own words, the message id; and the chats it switches off, with why.

The end-to-end alert tests check who received what; these check the records an operator reads
(`ajil status`, the deliveries table) and that the retry and expiry rules read: a mutation run
(docs/TESTING.md) showed that the attempts and reasons could be anything without a test noticing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.alerts.watcher import local_minute
from storage import subscribers
from tests.alerting import Pipeline, pipeline

BLOCKED = "Forbidden: bot was blocked by the user"
DEACTIVATED = "Forbidden: user is deactivated"
KICKED = "Forbidden: bot was kicked from the channel chat"
NOT_FOUND = "Bad Request: chat not found"
CANT_PARSE = "Bad Request: can't parse entities: unsupported start tag at byte offset 0"


async def _rows(p: Pipeline) -> dict[int, tuple[Any, ...]]:
    """chat_id -> (state, attempts, last_error, message_id) of each delivery."""
    rows = await p.db.reader.execute_fetchall(
        "SELECT chat_id, state, attempts, last_error, message_id FROM deliveries"
    )
    return {row[0]: tuple(row[1:]) for row in rows}


async def _settled(p: Pipeline, wanted: dict[int, str]) -> dict[int, tuple[Any, ...]]:
    """Wait (30 s at most) until each chat's delivery is in the wanted state; then the rows."""
    rows: dict[int, tuple[Any, ...]] = {}
    for _ in range(600):
        rows = await _rows(p)
        if all(chat in rows and rows[chat][0] == state for chat, state in wanted.items()):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries never reached {wanted}: {rows}")


async def test_each_answer_is_recorded_with_one_attempt_and_telegrams_reason(
    tmp_path: Path,
) -> None:
    extra = "[[channels]]\nchat_id = -1005\nlevel = 'urgent'\n"
    async with pipeline(tmp_path, extra) as p:
        await p.add_users([1, 2, 3])
        p.emulator.world.add_channel(-1005, "قناة")
        p.emulator.faults.blocked.add(1)
        p.emulator.faults.deactivated.add(2)
        p.emulator.faults.kicked.add(-1005)
        # A subscriber Telegram does not know (a 400 answer, not a 403): gone as well.
        await subscribers.add_many(p.db, [(4, "private", "ar")])
        await p.prime_and_publish()
        rows = await _settled(
            p, {1: "dropped", 2: "dropped", 3: "sent", -1005: "dropped", 4: "dropped"}
        )
        sent = p.emulator.world.bot_messages(3)
        assert len(sent) == 1
        assert rows[3] == ("sent", 1, None, sent[0].message_id)
        assert rows[1] == ("dropped", 1, BLOCKED, None)
        assert rows[2] == ("dropped", 1, DEACTIVATED, None)
        assert rows[-1005] == ("dropped", 1, KICKED, None)
        assert rows[4] == ("dropped", 1, NOT_FOUND, None)
        # The chats are switched off with Telegram's reason, for the operator to read.
        for chat, why in ((1, BLOCKED), (2, DEACTIVATED), (-1005, KICKED), (4, NOT_FOUND)):
            subscriber = await subscribers.get(p.db, chat)
            assert subscriber is not None and not subscriber.active
            assert subscriber.deactivated_why == why
        third = await subscribers.get(p.db, 3)
        assert third is not None and third.active and third.deactivated_why is None


async def test_a_refused_alert_stops_its_deliveries_that_are_not_due_yet(tmp_path: Path) -> None:
    """Chat 2 is in its quiet hours: its delivery waits in the outbox, and the sender cannot
    have claimed it. The refusal of the alert's text must still stop it, in the database (a
    later start, or another worker, would otherwise send a message Telegram refuses)."""
    async with pipeline(tmp_path) as p:
        await p.add_users([1, 2])
        now = local_minute(datetime.now(UTC), p.config.schedule.zone)
        await subscribers.set_preferences(p.db, 2, quiet=((now - 30) % 1440, (now + 60) % 1440))
        p.emulator.faults.refuse_texts.append("أخبار المدينة")
        await p.prime_and_publish()
        await p.until(lambda: bool(p.texts(900)))  # the admins are told once it is stopped
        rows = await _settled(p, {1: "broken", 2: "broken"})
        # Chat 1's own try is written with the stop: the moment it reads broken, it counts.
        assert rows[1] == ("broken", 1, CANT_PARSE, None)
        assert rows[2] == ("broken", 0, CANT_PARSE, None)  # never tried
        assert p.texts(1) == [] and p.texts(2) == []
        assert len(p.texts(900)) == 1


async def test_a_refused_digest_is_recorded_as_broken_with_its_one_attempt(tmp_path: Path) -> None:
    """A digest is one chat's own: nothing else stops, so its row says what happened to it."""
    async with pipeline(tmp_path) as p:
        await p.add_users([1])
        now = local_minute(datetime.now(UTC), p.config.schedule.zone)
        quiet = ((now - 30) % 1440, (now + 60) % 1440)
        await subscribers.set_preferences(p.db, 1, quiet=quiet, quiet_to_digest=True)
        title = "حريق محدود في مستودع للأخشاب بضواحي المدينة دون إصابات"
        p.emulator.faults.refuse_texts.append(title)  # in the digest, not in the admins' note
        await p.prime_and_publish(title=title)
        await subscribers.set_preferences(p.db, 1, digest_at=now)
        assert await p.watcher.send_digests() == 1
        await p.until(lambda: bool(p.texts(900)))
        rows = await _settled(p, {1: "broken"})
        assert rows[1] == ("broken", 1, CANT_PARSE, None)
        assert p.texts(1) == [] and len(p.texts(900)) == 1
