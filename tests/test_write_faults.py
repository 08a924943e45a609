"""A poll whose write fails once leaves no poisoned state: the next polls store and alert.

The failure is real SQLite failing a statement (a temporary trigger on the writer connection,
the storage seam), as a full disk or a read-only file would fail it mid-transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.news.text import normalize
from storage import items
from storage import sources as source_store
from storage.models import NewItem
from tests.alerting import pipeline

NOW = datetime.now(UTC)
FAIL_ENQUEUE = (
    "CREATE TEMP TRIGGER fail_enqueue BEFORE INSERT ON deliveries"
    " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
)


async def test_a_failed_write_is_followed_by_normal_polls(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with pipeline(tmp_path) as p:
        await p.add_users([1, 2])
        await p.watcher.poll("site")  # primed
        await p.db.writer.execute(FAIL_ENQUEUE)
        lost = p.newsroom.publish_urgent()
        with caplog.at_level(logging.WARNING):
            assert await p.watcher.poll("site") == []  # the write failed, and said so
        failed = await source_store.get(p.db, "site")
        assert failed is not None and failed.last_error and "disk is full" in failed.last_error
        await p.db.writer.execute("DROP TRIGGER fail_enqueue")
        # Meanwhile another poll stores an unrelated headline: the ids the failed write had
        # handed out now belong to other rows.
        other = "افتتاح قاعة مطالعة جديدة في دار الشباب"
        await items.insert_new(
            p.db,
            [NewItem("url:https://x.ma/1", failed.id, None, other, normalize(other), None, NOW)],
        )
        fresh = p.newsroom.publish_urgent()
        arrivals = await p.watcher.poll("site")
        titles = {a.item.title for a in arrivals}
        assert {lost.title, fresh.title} <= titles  # nothing lost: the failed poll is redone
        # ...and not filed under a story the failed write had made up.
        (story,) = [a.story_id for a in arrivals if a.item.title == lost.title]
        assert story is None
        await p.until(lambda: len(p.texts(1)) == 2 and len(p.texts(2)) == 2)
        healthy = await source_store.get(p.db, "site")
        assert healthy is not None and healthy.last_error is None
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) <= 1


async def test_a_user_is_told_to_try_again_when_nothing_can_be_saved(tmp_path: Path) -> None:
    import sqlite3

    from tests.live import live_bot

    async with live_bot(tmp_path) as live:
        user = live.user()
        with sqlite3.connect(live.config.storage.database) as conn:  # the disk "fills up"
            conn.execute(
                "CREATE TRIGGER full BEFORE INSERT ON subscribers"
                " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        refused = await live.say(user, "/subscribe")
        assert "تعذر الحفظ الآن" in refused.text
        with sqlite3.connect(live.config.storage.database) as conn:  # space is back
            conn.execute("DROP TRIGGER full")
        assert "تم الاشتراك" in (await live.say(user, "/subscribe")).text
