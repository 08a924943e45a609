"""Three `ajil run` workers on one database behind a load balancer, the leader killed with
SIGKILL in the middle of a broadcast of 3,000 deliveries at 50 a second (issue 16, Done when):
every subscriber gets the broadcast once, or twice at most for the sender's window; another
worker leads within 10 s (measured); the fleet never sends faster than 50 a second (the
emulator's timestamps, over 5 s; the busiest second is printed); every command sent to the
fleet during the failover is answered.

It runs on both backends (the `database_target` fixture): a SQLite file all three share (its
lock handling allows several processes), and a fresh PostgreSQL schema (tests/postgres.py:
skipped where no server answers, a failure in CI).

The killed worker is left unreaped until the end: its pid stays taken, so the others cannot
tell that it is gone (as they could not on another machine) and must wait out its lease.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bot.app import sender_settings
from bot.config import load
from bot.sandbox.balancer import Balancer
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from storage import Database, fanout, leases, notices, outbox, subscribers
from storage.models import Priority
from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 3
RATE = 50
SUBSCRIBERS = list(range(10_000, 13_000))
ASKERS = list(range(20_000, 20_030))  # users who send commands during the failover
BROADCAST = "تنبيه: انقطاع مؤقت للخدمة الليلة"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(
    folder: Path, database: str, n: int, emulator: Emulator, news: Newsroom, hook: str, port: int
) -> Path:
    path = folder / f"worker{n}.toml"
    path.write_text(
        f"[telegram]\ntoken = '{TOKEN}'\napi_url = '{emulator.api_url}'\n"
        f"[telegram.webhook]\nurl = '{hook}'\nport = {port}\n"
        f"[storage]\ndatabase = '{database}'\n"
        f"[alerts]\nmessages_per_second = {RATE}\npaid_broadcast = true\n"
        "[http]\nport = 0\n"
        f"[[sources]]\nname = 'site'\nurl = '{news.url}'\ninterval = 60\n",
        encoding="utf-8",
    )
    return path


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        cwd=ROOT,
        env={**os.environ},
    )


async def until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.1)


def busiest(times: list[float], seconds: float) -> tuple[int, float]:
    """The most sends in any window of `seconds`, and when that window began."""
    times = sorted(times)
    return max(
        ((bisect.bisect_left(times, start + seconds) - i, start) for i, start in enumerate(times)),
        default=(0, 0.0),
    )


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def test_the_leader_killed_mid_broadcast(tmp_path: Path, database_target: Path | str) -> None:
    database = str(database_target)
    emulator = Emulator(TOKEN)
    await emulator.start()
    news = Newsroom()
    await news.start()
    ports = [_free_port() for _ in range(WORKERS)]
    balancer = Balancer(ports)
    await balancer.start()
    configs = [
        _config(tmp_path, database, n, emulator, news, balancer.url, p) for n, p in enumerate(ports)
    ]
    window = sender_settings(load(configs[0], env={})).window
    for user in SUBSCRIBERS + ASKERS:
        emulator.world.add_user(user, f"u{user}")
    db = await Database.open(database)
    await subscribers.add_many(db, [(u, "private", "ar") for u in SUBSCRIBERS])
    workers = [_start(c, tmp_path / f"worker{n}.log") for n, c in enumerate(configs)]
    killed: subprocess.Popen[bytes] | None = None
    try:
        now = lambda: int(time.time())  # noqa: E731

        async def led() -> bool:
            return await leases.holder(db, leases.LEADER, now()) is not None

        await until(led, 60, "a leader")
        for port in ports:
            await until(lambda port=port: _listening(port), 60, f"worker on {port}")  # type: ignore[misc]
        notice = await notices.create(db, "broadcast", BROADCAST)
        # Its first batch now; the leader's fan-out walker writes the rest, across the kill.
        first = await outbox.enqueue_notice(db, notice, None, Priority.NORMAL)
        assert first == min(len(SUBSCRIBERS), fanout.batch_size(db))

        async def a_third_sent() -> bool:
            return len(emulator.sends()) >= len(SUBSCRIBERS) // 3

        await until(a_third_sent, 120, "a third of the broadcast")
        leader = await leases.holder(db, leases.LEADER, now())
        assert leader is not None
        pid = int(leader.rsplit("/", 3)[1])
        killed = next(w for w in workers if w.pid == pid)
        killed.send_signal(signal.SIGKILL)
        killed_at = time.time()
        sent_before = len(emulator.sends())

        # Commands keep coming during the failover, through the balancer to any worker.
        async def ask() -> None:
            for user in ASKERS:
                await emulator.world.user_message(user, "/help")
                await asyncio.sleep(0.4)

        asking = asyncio.create_task(ask())

        async def new_leader() -> bool:
            holder = await leases.holder(db, leases.LEADER, now())
            return holder is not None and holder != leader

        await until(new_leader, 30, "another leader")
        took = time.time() - killed_at

        def served() -> set[int]:
            return {int(c.params["chat_id"]) for c in emulator.sends() if c.params["text"]}

        async def everyone_served() -> bool:
            return set(SUBSCRIBERS) <= served()

        await until(everyone_served, 240, "every subscriber served")
        await asking

        async def everyone_answered() -> bool:
            return all(emulator.world.bot_messages(user) for user in ASKERS)

        await until(everyone_answered, 60, "every command answered")
        # /latest answered by one worker, /summary 1 by the next: the list is in the database.
        reader = ASKERS[0]
        before = len(emulator.world.bot_messages(reader))
        await emulator.world.user_message(reader, "/latest")
        await emulator.world.wait_for(lambda: len(emulator.world.bot_messages(reader)) > before, 30)
        listing = emulator.world.bot_messages(reader)[before]
        await emulator.world.user_message(reader, "/summary 1")
        await emulator.world.wait_for(
            lambda: len(emulator.world.bot_messages(reader)) > before + 1, 30
        )
        summary = emulator.world.bot_messages(reader)[before + 1]
        await emulator.world.wait_for(lambda: "⏳" not in summary.text, 30)
        latest_by, summary_by = balancer.answered_by[-2:]
        await asyncio.sleep(1.0)  # anything more the fleet would send
    finally:
        for worker in workers:
            if worker.poll() is None and worker is not killed:
                worker.send_signal(signal.SIGTERM)
        codes = [await asyncio.to_thread(w.wait, 30) for w in workers]
        await db.close()
        await balancer.stop()
        await news.stop()
        await emulator.stop()

    audience = set(SUBSCRIBERS)
    broadcast = [c for c in emulator.sends() if int(c.params["chat_id"]) in audience]
    counts = Counter(int(c.params["chat_id"]) for c in broadcast)
    duplicates = sum(n - 1 for n in counts.values())
    first_after = min(c.at for c in broadcast if c.at > killed_at + 0.5)
    times = [c.at for c in broadcast]
    second, second_at = busiest(times, 1.0)
    five, _ = busiest(times, 5.0)
    print(
        f"\n{'PostgreSQL' if '://' in database else 'SQLite'}: leader killed after {sent_before} sends; another led after {took:.1f} s; "
        f"sending again after {first_after - killed_at:.1f} s; {duplicates} duplicates "
        f"(window {window}); busiest second {second} (rate {RATE}), "
        f"{second_at - killed_at:+.1f} s from the kill; busiest 5 s {five}; "
        f"updates per worker {dict(balancer.forwarded)}, {balancer.skipped} passed on"
    )
    assert set(counts) == set(SUBSCRIBERS)
    assert duplicates <= window, f"{duplicates} duplicates, window {window}"
    assert took <= 10, f"another worker led only after {took:.1f} s"
    # Two leaders at once would double the rate. The sender keeps at most RATE in any 1.04 s on
    # its side of the wire (tests/test_pacing*), but arrivals at an emulator on a loaded shared
    # machine bunch within a second (67 seen at 50/s with one leader, before the kill): the
    # busiest second is printed (docs/BENCHMARKS.md), and the check is over 5 s, where that
    # jitter evens out and two leaders would still show nearly twice the rate.
    assert five <= 5 * RATE * 1.1, f"{five} broadcast sends in 5 s"
    assert all(len(emulator.world.bot_messages(u)) == 1 for u in ASKERS[1:])
    assert latest_by != summary_by  # two workers...
    heading = summary.text.splitlines()[0]  # ...and the summary of the first headline listed
    assert "📝" in heading and heading.split("—", 1)[1].strip() in listing.text.splitlines()[1]
    survivors = [c for w, c in zip(workers, codes, strict=True) if w is not killed]
    logs = [path.read_text()[-2000:] for path in sorted(tmp_path.glob("*.log"))]  # noqa: ASYNC240
    assert survivors == [0] * (WORKERS - 1), logs
