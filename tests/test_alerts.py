"""Breaking alerts end to end: sample site -> watcher -> outbox -> sender -> emulated Telegram."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts.watcher import local_minute
from bot.sandbox.emulator import Call
from storage import subscribers
from tests.alerting import pipeline


async def test_an_urgent_story_reaches_every_subscriber_once(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        await p.add_users([1, 2, 3])
        await p.add_users([4], lang="fr")
        await p.add_users([5], level="digest")
        await p.prime_and_publish()
        story = p.newsroom.ticker()[0]
        await p.until(lambda: all(p.texts(c) for c in (1, 2, 3, 4)))
        await p.watcher.poll("site")  # polled again: nothing new
        message = p.emulator.world.bot_messages(1)[0]
        assert message.text.splitlines()[0].strip("\u200f") == "🔴 عاجل"
        assert story.title in message.text and "أخبار المدينة" in message.text
        assert not message.disable_notification
        buttons = message.reply_markup["inline_keyboard"][0]  # type: ignore[index]
        assert buttons[0]["text"] == "اقرأ المقال" and buttons[0]["url"].endswith(story.path)
        assert buttons[1]["callback_data"] == f"sum:{_item_id(p, story.title)}"
        assert "🔴 Urgent" in p.texts(4)[0] and "Lire l'article" in str(
            p.emulator.world.bot_messages(4)[0].reply_markup
        )
        assert p.texts(5) == []  # digest-only
        await p.until(lambda: p.sender.sent == 4)
        assert Counter(str(c.params["chat_id"]) for c in p.emulator.sends()) == Counter(
            {"1": 1, "2": 1, "3": 1, "4": 1}
        )


def _item_id(p, title: str) -> int:  # type: ignore[no-untyped-def]
    import sqlite3

    with sqlite3.connect(p.db.path) as conn:
        return conn.execute("SELECT id FROM items WHERE title = ?", (title,)).fetchone()[0]


async def test_ordinary_headlines_go_silently_to_those_who_chose_all(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        await p.add_users([1])
        await p.add_users([2], level="all")
        await p.watcher.poll("site")
        story = p.newsroom.publish_urgent()
        p.newsroom.stories[-1] = type(story)(  # the same story, but not urgent
            story.id,
            "افتتاح سوق أسبوعي جديد بحي النهضة يوم السبت",
            story.paragraphs,
            story.published,
            False,
        )
        await p.watcher.poll("site")
        await p.until(lambda: bool(p.texts(2)))
        message = p.emulator.world.bot_messages(2)[0]
        assert message.disable_notification and "📰" in message.text
        assert p.texts(1) == []


async def test_filters_sources_and_same_story(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        await p.add_users([1, 2, 3])
        await subscribers.set_filters(p.db, 2, add=["مطار"])  # only airport news
        await p.watcher.poll("site")
        p.newsroom.publish_urgent()  # a power cut: not about the airport
        await p.watcher.poll("site")
        await p.until(lambda: bool(p.texts(1)) and bool(p.texts(3)))
        assert p.texts(2) == []
        # Source switched off for chat 3.
        source_id = (
            await p.db.reader.execute_fetchall("SELECT id FROM sources WHERE name='site'")
        )[0][0]
        await subscribers.set_source_enabled(p.db, 3, source_id, False)
        p.newsroom.publish_urgent()
        p.newsroom.publish_urgent()
        p.newsroom.publish_urgent()  # the airport
        await p.watcher.poll("site")
        await p.until(lambda: len(p.texts(1)) == 4 and bool(p.texts(2)))
        assert len(p.texts(2)) == 1 and "مطار" in p.texts(2)[0]
        assert len(p.texts(3)) == 1


async def test_a_reworded_headline_of_an_alerted_story_is_not_alerted_again(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        await p.add_users([1])
        await p.watcher.poll("site")
        p.newsroom.publish_urgent(title="انقطاع التيار الكهربائي عن عدة أحياء وسط المدينة")
        await p.watcher.poll("site")
        await p.until(lambda: bool(p.texts(1)))
        # The same story again, reworded, under another URL: recorded as the same story...
        p.newsroom.publish_urgent(title="انقطاع التيار الكهربائي عن أحياء عدة بوسط المدينة")
        (again,) = await p.watcher.poll("site")
        assert again.duplicate
        # ...and nothing is enqueued for it (the outbox, not a short sleep, is the witness: the
        # per-chat one-second gap would hold a duplicate for a while before sending it).
        rows = await p.db.reader.execute_fetchall("SELECT item_id FROM deliveries")
        assert [r[0] for r in rows] == [again.story_id]
        # Nothing left to send, so nothing will arrive after the pacing window either.
        await p.until(lambda: _states(p) == {"sent": 1})
        assert len(p.texts(1)) == 1


async def test_quiet_hours_delay_or_go_to_the_digest(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        await p.add_users([1, 2, 3])
        now = local_minute(datetime.now(UTC), p.config.schedule.zone)
        quiet = ((now - 30) % 1440, (now + 60) % 1440)
        await subscribers.set_preferences(p.db, 1, quiet=quiet)
        await subscribers.set_preferences(p.db, 2, quiet=quiet, quiet_to_digest=True)
        await p.prime_and_publish()
        await p.until(lambda: bool(p.texts(3)))
        rows = await p.db.reader.execute_fetchall(
            "SELECT chat_id, not_before, state FROM deliveries ORDER BY chat_id"
        )
        by_chat = {r[0]: r for r in rows}
        assert 2 not in by_chat  # into the digest instead
        waits = by_chat[1][1] - int(time.time())
        assert 55 * 60 <= waits <= 61 * 60 and by_chat[1][2] == "pending"
        assert p.texts(1) == []
        # The digest at chat 2's time carries the story.
        await subscribers.set_preferences(p.db, 2, digest_at=now)
        assert await p.watcher.send_digests() == 1
        await p.until(lambda: bool(p.texts(2)))
        assert "📋" in p.texts(2)[0] and p.newsroom.ticker()[0].title in p.texts(2)[0]
        assert await p.watcher.send_digests() == 0  # once a day


async def test_blocked_deactivated_and_kicked_chats_stop_for_good(tmp_path: Path) -> None:
    extra = "[[channels]]\nchat_id = -1005\nlevel = 'urgent'\n"
    async with pipeline(tmp_path, extra) as p:
        await p.add_users([1, 2, 3])
        p.emulator.world.add_channel(-1005, "قناة")
        p.emulator.faults.blocked.add(1)
        p.emulator.faults.deactivated.add(2)
        p.emulator.faults.kicked.add(-1005)
        await p.prime_and_publish()
        await p.until(lambda: bool(p.texts(3)))
        await p.until(lambda: _states(p) == {"sent": 1, "dropped": 3})
        for chat in (1, 2, -1005):
            subscriber = await subscribers.get(p.db, chat)
            assert subscriber is not None and not subscriber.active
            assert "Forbidden" in (subscriber.deactivated_why or "") or "blocked" in (
                subscriber.deactivated_why or ""
            )
        attempts = [c for c in p.emulator.calls if c.method == "sendMessage"]
        assert len(attempts) == 4  # one try each, never retried
        p.newsroom.publish_urgent()
        await p.watcher.poll("site")
        await p.until(lambda: len(p.texts(3)) == 2)
        assert len([c for c in p.emulator.calls if c.method == "sendMessage"]) == 5


def _states(p) -> dict[str, int]:  # type: ignore[no-untyped-def]
    import sqlite3

    with sqlite3.connect(p.db.path) as conn:
        return dict(
            conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
        )


async def test_a_429_storm_pauses_the_sender_and_loses_nothing(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        users = list(range(1, 41))
        await p.add_users(users)
        p.emulator.faults.retry_after = 2
        p.emulator.faults.storm_until = time.monotonic() + 3600  # until the first 429, below

        def refused() -> list[Call]:
            return [c for c in p.emulator.calls if c.method == "sendMessage" and c.error == 429]

        await p.prime_and_publish()
        await p.until(lambda: bool(refused()))
        # The storm lasts one second from the first 429, however late the machine got there.
        # This runs before the sender can send again: it waits retry_after from the answer.
        first_429 = min(c.at for c in refused())  # time.time(); the storm is on time.monotonic()
        p.emulator.faults.storm_until = time.monotonic() + (first_429 + 1.0 - time.time())
        await p.until(lambda: all(p.texts(u) for u in users), timeout=30)
        # Every send after the 429 waited retry_after (2 s) instead of hammering: no chat was
        # refused twice, and each refused chat's message went through 2 s after the first 429
        # at the soonest (lower bounds only: a busy machine makes them later, never sooner).
        by_chat = Counter(str(c.params["chat_id"]) for c in refused())
        assert max(by_chat.values()) == 1
        for call in p.emulator.sends():
            if str(call.params["chat_id"]) in by_chat:
                assert call.at - first_429 >= 2.0
        assert all(len(p.texts(u)) == 1 for u in users)


async def test_a_group_that_became_a_supergroup_is_followed(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        world = p.emulator.world
        world.add_user(7, "admin7")
        world.add_group(-70, "مجموعة", members=[7], admins=[7])
        await subscribers.subscribe(p.db, -70, "group")
        world.migrate(-70, -100070)
        p.emulator.faults.migrated[-70] = -100070
        await p.prime_and_publish()
        await p.until(lambda: bool(p.texts(-100070)))
        assert p.texts(-70) == []
        moved = await subscribers.get(p.db, -100070)
        assert moved is not None and moved.active and moved.chat_type == "supergroup"
        assert await subscribers.get(p.db, -70) is None


async def test_a_refused_alert_is_stopped_for_everyone_and_admins_told_once(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        users = list(range(1, 11))
        await p.add_users(users)
        p.emulator.faults.refuse_texts.append("أخبار المدينة")  # in alerts, not in the admins' note
        await p.prime_and_publish()
        await p.until(lambda: bool(p.texts(900)))
        await p.until(lambda: _states(p).get("broken") == 10)
        tries = [
            c
            for c in p.emulator.calls
            if c.method == "sendMessage" and str(c.params["chat_id"]) != "900"
        ]
        assert len(tries) <= p.sender.settings.concurrency
        assert len(p.texts(900)) == 1 and "⚠️" in p.texts(900)[0]


async def test_network_errors_are_retried_then_recorded(tmp_path: Path) -> None:
    async with pipeline(tmp_path, "") as p:
        await p.add_users([1])
        p.emulator.faults.drop_next = 1
        await p.prime_and_publish()
        await p.until(lambda: bool(p.texts(1)), timeout=20)  # resent after backoff
        assert len(p.texts(1)) == 1
        await p.until(lambda: _states(p) == {"sent": 1})
        row = (
            await p.db.reader.execute_fetchall("SELECT state, attempts, last_error FROM deliveries")
        )[0]
        assert row[1] == 2  # the dropped try, then the one that went through


async def test_network_errors_are_retried_until_the_alert_is_no_longer_news(
    tmp_path: Path,
) -> None:
    async with pipeline(tmp_path, "") as p:
        # A window several backoffs long: on a busy machine the first attempt can come a second
        # or two after the alert is stored, and the test is about the retries, not the timing.
        p.sender.settings = replace(p.sender.settings, expire_after=timedelta(seconds=8))
        await p.add_users([1])
        p.emulator.faults.drop_next = 1000
        await p.prime_and_publish()
        await p.until(lambda: _states(p).get("expired") == 1, timeout=40)
        assert _states(p) == {"expired": 1} and p.texts(1) == []
        row = (await p.db.reader.execute_fetchall("SELECT attempts FROM deliveries"))[0]
        assert row[0] >= 2  # retried (2 s backoff) before the 8 s window closed


async def test_an_outage_costs_time_not_alerts(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        users = list(range(1, 201))
        await p.add_users(users)
        await p.watcher.poll("site")
        p.emulator.faults.outage_until = time.monotonic() + 8  # every call answered 502
        p.newsroom.publish_urgent()
        await p.watcher.poll("site")
        await p.until(lambda: all(len(p.texts(u)) == 1 for u in users), timeout=90)
        assert any(c.error == 502 for c in p.emulator.calls)
        await p.until(lambda: _states(p) == {"sent": 200})  # none failed, none expired


async def test_per_chat_limits_are_kept(tmp_path: Path) -> None:
    # The sender's own decisions, on its clock, are checked: arrival times at the emulator bunch
    # on a busy machine, so a gap measured there fails by chance. The pacer's rules themselves
    # are tested on a virtual clock in tests/test_pacing_decisions.py.
    async with pipeline(tmp_path) as p:
        await p.add_users([1])
        await p.watcher.poll("site")
        for _ in range(3):
            p.newsroom.publish_urgent()
        await p.watcher.poll("site")
        await p.until(lambda: len(p.texts(1)) == 3, timeout=15)
        let_go = p.sender.chats.sent_times(1)
        assert len(let_go) == 3
        # Telegram: about one message a second to a private chat.
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(let_go))


async def test_nothing_is_realerted_after_a_restart(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as p:
        await p.add_users([1])
        await p.prime_and_publish()
        await p.until(lambda: bool(p.texts(1)))
        from bot.alerts.watcher import Watcher
        from bot.news.fetch import HttpFetcher
        from bot.news.netguard import FetchPolicy

        async with HttpFetcher(policy=FetchPolicy([p.newsroom.url])) as fetcher:
            fresh = Watcher(p.db, p.config, fetcher, p.sender.wake)  # a restarted process
            assert await fresh.poll("site") == []
        assert len(p.texts(1)) == 1


async def test_configured_channels_receive_alerts_as_posts(tmp_path: Path) -> None:
    extra = (
        "[[channels]]\nchat_id = -1001\nlevel = 'urgent'\n"
        "[[channels]]\nchat_id = -1002\nlevel = 'all'\n"
    )
    async with pipeline(tmp_path, extra) as p:
        p.emulator.world.add_channel(-1001, "عاجل المدينة")
        p.emulator.world.add_channel(-1002, "كل الأخبار")
        await p.prime_and_publish()
        await p.until(lambda: bool(p.texts(-1001)) and bool(p.texts(-1002)))
        assert "🔴 عاجل" in p.texts(-1001)[0]
        channel = await subscribers.get(p.db, -1002)
        assert (
            channel is not None and channel.chat_type == "channel" and channel.alert_level == "all"
        )
