"""Operations: webhook secret, /healthz, /metrics, admin incidents, backups, SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot import config as config_module
from bot.app import run
from bot.ops.contact import BotApiContact
from bot.ops.health import HealthServer, HealthState
from bot.ops.incidents import Incidents
from bot.ops.metrics import Metrics
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from storage import Database, StorageError, fanout, meta, notices, outbox, sources, subscribers
from storage.backup import backup
from storage.models import Priority
from storage.sources import SourceSpec
from tests.alerting import pipeline
from tests.conftest import TOKEN
from tests.live import primed, start_ajil, write_config

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(condition, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def start(
    tmp_path: Path, extra: str
) -> tuple[Emulator, Newsroom, asyncio.Event, asyncio.Task[None], Path]:
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    path = write_config(tmp_path, emulator, newsroom, sections=extra)
    config = config_module.load(path, env={})
    stop = asyncio.Event()
    task = asyncio.create_task(run(config, stop))
    return emulator, newsroom, stop, task, config.storage.database


async def test_webhook_refuses_requests_without_the_secret(tmp_path: Path) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    emulator, newsroom, stop, task, _ = await start(
        tmp_path,
        f"[telegram.webhook]\nurl = '{hook}'\nport = {port}\nsecret_token = 'right_secret-1'\n"
        "[http]\nport = 0\n",
    )
    try:
        await wait_until(lambda: bool(emulator.world.webhook.get("url")))
        assert emulator.world.webhook["secret_token"] == "right_secret-1"
        world = emulator.world
        world.add_user(5, "سلمى")
        await world.user_message(5, "/help")  # delivered by the emulator, with the secret
        await wait_until(lambda: bool(world.bot_messages(5)))
        update = {
            "update_id": 999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 6, "type": "private", "first_name": "x"},
                "from": {"id": 6, "is_bot": False, "first_name": "x"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        world.add_user(6, "x")
        async with httpx.AsyncClient() as client:
            missing = await client.post(hook, json=update)
            wrong = await client.post(
                hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            )
        assert missing.status_code == 403 and wrong.status_code == 403
        # Never processed: the same chat's next update, sent with the secret, is answered and
        # the refused /help is not (a chat's updates are handled in order, so a refused one
        # taken anyway would have been answered first). No sleep: that answer is the witness.
        help_text = world.bot_messages(5)[0].text
        await world.user_message(6, "/start")
        await wait_until(lambda: bool(world.bot_messages(6)))
        assert all(m.text != help_text for m in world.bot_messages(6))
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await newsroom.stop()
        await emulator.stop()


async def test_an_empty_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    port = free_port()
    extra = (
        f"[telegram.webhook]\nurl = 'http://127.0.0.1:{port}/h'\nport = {port}\n[http]\nport = 0\n"
    )
    emulator, newsroom, stop, task, database = await start(tmp_path, extra)
    try:
        await wait_until(lambda: bool(emulator.world.webhook.get("url")))
        first = emulator.world.webhook["secret_token"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    db = await Database.open(database)
    try:
        assert first and await meta.get(db, "webhook_secret") == first
    finally:
        await db.close()
    await newsroom.stop()
    await emulator.stop()


async def test_healthz_and_metrics_after_a_scenario(tmp_path: Path) -> None:
    port = free_port()
    emulator, newsroom, stop, task, _ = await start(tmp_path, f"[http]\nport = {port}\n")
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            # /healthz listens from the start, and says 503 until the bot is fully up; the
            # lead is taken a moment after (its first lease attempt runs once the bot is up).
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                try:
                    health = await client.get(f"{base}/healthz")
                    if health.status_code == 200 and "role leader" in health.text:
                        break
                except httpx.ConnectError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "never healthy"
                await asyncio.sleep(0.1)
            assert health.text == "ok\npending 0, oldest 0 s\nrole leader\n"
            world = emulator.world
            world.add_user(5, "سلمى")
            await world.user_message(5, "/subscribe")
            await wait_until(lambda: bool(world.bot_messages(5)))
            await wait_until(lambda: bool(newsroom.requests), 30)  # the first poll
            await world.user_message(5, "/latest")
            await wait_until(lambda: len(world.bot_messages(5)) >= 2)
            metrics = (await client.get(f"{base}/metrics")).text
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await newsroom.stop()
        await emulator.stop()
    for name in (
        "ajil_updates_total",
        'ajil_command_seconds_count{command="latest"}',
        "ajil_outbox_depth",
        "ajil_outbox_pending",
        "ajil_outbox_oldest_pending_seconds",
        'ajil_fetches_total{result="ok",source="site"}',
        'ajil_fetch_seconds_count{source="site"}',
        'ajil_source_last_success_timestamp_seconds{source="site"}',
    ):
        assert name in metrics, name
    assert "# TYPE ajil_deliveries_total counter" in metrics
    assert "\najil_leader 1.0\n" in metrics


def test_the_bot_api_contact_says_since_when_it_has_not_answered() -> None:
    now = [100.0]
    contact = BotApiContact(clock=lambda: now[0])
    assert contact.problem() == "the Bot API has not answered since start (0 s)"
    now[0] = 107.0
    contact.failed("httpx.ConnectError: All connection attempts failed")
    now[0] = 112.0
    contact.failed("HTTP 502")
    assert contact.problem() == "the Bot API has not answered since start (12 s): HTTP 502"
    contact.answered()
    assert contact.problem() is None and contact.silent_for() == 0
    now[0] = 140.0
    assert contact.problem() is None  # quiet is not down: nothing failed
    contact.failed("HTTP 502")
    now[0] = 150.0
    contact.failed("timed out")
    assert contact.problem() == "the Bot API has not answered for 38 s: timed out"
    contact.answered()
    assert contact.problem() is None


async def test_healthz_reports_what_is_wrong(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.db")
    server = HealthServer(db, Metrics(), HealthState())
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient() as client:
            sick = await client.get(f"http://127.0.0.1:{server.port}/healthz")
            server.state.api.answered()
            server.state.scheduler_running = lambda: True
            well = await client.get(f"http://127.0.0.1:{server.port}/healthz")
            # A delivery waiting for 20 minutes: an outage, or a sender that stopped.
            await subscribers.add_many(db, [(5, "private", "ar")])
            notice = await notices.create(db, "broadcast", "تجربة")
            await outbox.enqueue_notice(db, notice, [5], Priority.NORMAL)
            async with db.transaction() as conn:
                await conn.execute("UPDATE deliveries SET created_at = created_at - 1200")
            stale = await client.get(f"http://127.0.0.1:{server.port}/healthz")
            await db.close()  # the database goes away
            broken = await client.get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()
    assert stale.status_code == 503
    assert re.search(r"^1 deliveries waiting, the oldest for 120\d s$", stale.text, re.M)
    assert re.search(r"\npending 1, oldest 120\d s\n$", stale.text)
    assert sick.status_code == 503
    assert "scheduler not running" in sick.text
    assert "the Bot API has not answered since start" in sick.text
    assert well.status_code == 200
    assert broken.status_code == 503 and "database not writable" in broken.text


async def test_healthz_follows_the_bot_api_down_at_start_and_down_later(tmp_path: Path) -> None:
    port = free_port()
    emulator = Emulator(TOKEN)
    emulator.port = free_port()  # where the Bot API will be; nothing listens there yet
    newsroom = Newsroom()
    await newsroom.start()
    path = write_config(tmp_path, emulator, newsroom, sections=f"[http]\nport = {port}\n")
    stop = asyncio.Event()
    task = asyncio.create_task(run(config_module.load(path, env={}), stop))
    base = f"http://127.0.0.1:{port}/healthz"

    async def healthz_until(condition, timeout: float = 60) -> httpx.Response:  # type: ignore[no-untyped-def]
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                assert not task.done(), "the bot stopped"
                try:
                    answer = await client.get(base)
                    if condition(answer):
                        return answer
                except httpx.ConnectError:
                    pass  # not listening yet
                assert asyncio.get_running_loop().time() < deadline, "timed out"
                await asyncio.sleep(0.1)

    try:
        down = await healthz_until(lambda r: "has not answered since start" in r.text)
        assert down.status_code == 503 and "ConnectError" in down.text, down.text
        assert "scheduler not running" in down.text  # nothing runs before the Bot API answers
        await emulator.start(emulator.port)
        well = await healthz_until(lambda r: r.status_code == 200)
        assert well.text.startswith("ok\n")
        world = emulator.world
        world.add_user(5, "سلمى")
        await world.user_message(5, "/help")
        await wait_until(lambda: bool(world.bot_messages(5)))
        # Later, every call answered 502, as Telegram's gateway does in an outage.
        emulator.faults.outage_until = time.monotonic() + 3600
        sick = await healthz_until(lambda r: "has not answered for" in r.text)
        assert sick.status_code == 503 and "HTTP 502" in sick.text, sick.text
        emulator.faults.outage_until = 0.0
        back = await healthz_until(lambda r: r.status_code == 200, timeout=90)
        assert "Bot API" not in back.text
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await newsroom.stop()
        await emulator.stop()


async def test_admins_hear_of_each_incident_once(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.db")
    try:
        (state,) = await sources.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
        now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
        told: list[str] = []

        async def notify(text: str) -> None:
            told.append(text)

        clock = [now]
        incidents = Incidents(db, ["site"], 25, notify, clock=lambda: clock[0])
        await sources.record_failure(db, state.id, now, "HTTP 500", now + timedelta(minutes=1))
        assert await incidents.check() == []  # not 30 minutes yet
        clock[0] = now + timedelta(minutes=31)
        await sources.record_failure(db, state.id, clock[0], "HTTP 500", clock[0])
        assert len(await incidents.check()) == 1 and "site" in told[0] and "HTTP 500" in told[0]
        assert await incidents.check() == []  # once per incident
        await sources.record_success(db, state.id, clock[0], None, None)
        assert "عاد" in (await incidents.check())[0]
        await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 20_001)])
        from storage import items
        from storage.models import NewItem

        (item,) = await items.insert_new(
            db, [NewItem("u", state.id, "https://site.ma/1", "t", "t", now, now, urgent=True)]
        )
        assert item is not None
        enqueued = await fanout.enqueue_alert(
            db,
            item_id=item,
            source_id=state.id,
            urgent=True,
            story_id=None,
            text="t",
            now=clock[0],
            local_minute=600,
            story_window=24 * 3600,
            rate=25.0,
        )
        while done := await fanout.step(db, now=clock[0], local_minute=600):  # the walker's part
            enqueued += done.added
        assert enqueued == 20_000
        backlog = await incidents.check()  # 20,000 at 25/s: over 13 minutes of sending
        assert len(backlog) == 1 and "20000" in backlog[0]
        assert await incidents.check() == []
    finally:
        await db.close()


async def test_backup_during_a_broadcast_holds_every_committed_row(tmp_path: Path) -> None:
    async with pipeline(tmp_path, rate=30) as p:
        users = list(range(1, 301))
        await p.add_users(users)
        await p.prime_and_publish()
        await p.until(lambda: p.sender.sent >= 20)
        before = {
            table: p.db.path
            and (await p.db.reader.execute_fetchall(f"SELECT count(*) FROM {table}"))[0][0]
            for table in ("subscribers", "items", "deliveries")
        }
        target = tmp_path / "copy.db"
        pages = await asyncio.to_thread(backup, p.db.path, target)
        assert pages > 0
        assert 20 <= p.sender.sent < 300, "the broadcast was still going"
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for table, count in before.items():
            assert copy.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= count
        states = dict(copy.execute("SELECT state, count(*) FROM deliveries GROUP BY state"))
        assert sum(states.values()) == 300
        orphans = copy.execute(
            "SELECT count(*) FROM deliveries d LEFT JOIN subscribers s ON s.chat_id = d.chat_id"
            " WHERE s.chat_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
    with pytest.raises(StorageError, match="already exists"):
        backup(p.db.path, target)


async def test_sigterm_mid_broadcast_leaves_nothing_half_recorded(tmp_path: Path) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    path = write_config(
        tmp_path, emulator, newsroom, sections="[http]\nport = 0\n", source="interval = 15\n"
    )
    database = config_module.load(path, env={}).storage.database
    users = list(range(1, 201))
    for user in users:
        emulator.world.add_user(user, f"u{user}")
    db = await Database.open(database)
    await subscribers.add_many(db, [(u, "private", "ar") for u in users])
    await db.close()
    proc = await start_ajil(path)

    try:
        await wait_until(lambda: primed(database), 30)
        newsroom.publish_urgent()
        await wait_until(lambda: len(emulator.sends()) >= 40, 60)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
        await newsroom.stop()
        await emulator.stop()
    assert proc.returncode == 0, err.decode()[-1500:]
    sent_chats = {int(c.params["chat_id"]) for c in emulator.sends()}
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT chat_id, state, message_id FROM deliveries").fetchall()
    assert len(rows) == len(users)
    assert {state for _, state, _ in rows} <= {"sent", "pending"}  # nothing left 'sending'
    recorded = {chat for chat, state, message_id in rows if state == "sent" and message_id}
    assert recorded == sent_chats  # every send recorded, and nothing recorded unsent
    assert len(recorded) < len(users)  # it was stopped mid-broadcast
