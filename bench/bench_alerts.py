"""Alert benchmarks against the emulator: fan-out rate, reply latency during a broadcast,
detection delay, and peak memory. Each scenario runs the real `ajil run` in its own process,
the emulator in another (`python -m bot.sandbox.serve`), and the sample news site here.

Run: python -m bench.bench_alerts [--subscribers 10000] [--rates 30,1000] [--skip-detection]
     [--skip-memory]
Figures and their reading are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bot.sandbox.newsroom import Newsroom
from bot.sandbox.serve import DEFAULT_TOKEN
from storage import Database, items, subscribers
from storage import sources as source_store
from storage.models import NewItem
from storage.sources import SourceSpec

ROOT = Path(__file__).resolve().parents[1]
PROBE_USER = 900_001  # sends /latest during the broadcast; not a subscriber


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """The emulator process and its control API."""

    def __init__(self, users: int) -> None:
        self.port = free_port()
        self.users = users
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: asyncio.subprocess.Process | None = None
        self.http = httpx.AsyncClient(timeout=60)

    async def __aenter__(self) -> Emulator:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.sandbox.serve",
            "--port",
            str(self.port),
            "--users",
            str(self.users),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        await asyncio.wait_for(self.proc.stdout.readline(), 60)
        await self.http.post(
            f"{self.base}/control/users",
            json={"users": [{"id": PROBE_USER, "first_name": "probe", "language_code": "ar"}]},
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()

    async def count(self, since: float) -> int:
        reply = await self.http.get(
            f"{self.base}/control/calls",
            params={"method": "sendMessage", "since": since, "count": 1},
        )
        return int(reply.json()["count"])

    async def sends(self, since: float = 0) -> list[tuple[float, str]]:
        reply = await self.http.get(
            f"{self.base}/control/calls", params={"method": "sendMessage", "since": since}
        )
        return [(c["at"], str(c["chat_id"])) for c in reply.json()["calls"] if c["error"] is None]


async def start_bot(
    folder: Path, emulator: Emulator, site: Newsroom, rate: int, paid: bool
) -> asyncio.subprocess.Process:
    config = folder / "config.toml"
    config.write_text(
        f"[telegram]\ntoken = '{DEFAULT_TOKEN}'\napi_url = '{emulator.base}/bot'\n"
        f"[logging]\nlevel = 'WARNING'\n[http]\nport = 0\n"
        f"[alerts]\nmessages_per_second = {rate}\npaid_broadcast = {'true' if paid else 'false'}\n"
        f"[[sources]]\nname = 'site'\nurl = '{site.url}'\ninterval = 15\n",
        encoding="utf-8",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ},
    )


async def prepare(folder: Path, site: Newsroom, subscriber_count: int, item_count: int = 0) -> None:
    db = await Database.open(folder / "ajil.db")
    try:
        await subscribers.add_many(
            db, ((n, "private", "ar") for n in range(1, subscriber_count + 1))
        )
        (state,) = await source_store.sync(db, [SourceSpec("site", site.url, "auto")])
        if item_count:
            now = datetime.now(UTC)
            await items.insert_many(
                db,
                [
                    NewItem(
                        f"bench:{n}",
                        state.id,
                        f"https://bench.ma/{n}",
                        f"عنوان قديم رقم {n}",
                        f"عنوان قديم رقم {n}",
                        now - timedelta(hours=8, seconds=n),
                        now - timedelta(hours=8),
                    )
                    for n in range(item_count)
                ],
            )
    finally:
        await db.close()


def primed(folder: Path) -> bool:
    try:
        with sqlite3.connect(folder / "ajil.db") as conn:
            row = conn.execute("SELECT primed FROM sources WHERE name = 'site'").fetchone()
        return bool(row and row[0])
    except sqlite3.Error:
        return False


async def until(condition, timeout: float, step: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(step)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best = 0
    for i, start in enumerate(times):
        best = max(best, bisect.bisect_left(times, start + window) - i)
    return best


async def probe_latency(emulator: Emulator, stop: asyncio.Event, out: list[float]) -> None:
    """Send /latest every half second; time until the reply reaches the emulator."""
    seen = 0
    while not stop.is_set():
        sent = await emulator.http.post(
            f"{emulator.base}/control/message", json={"user_id": PROBE_USER, "text": "/latest"}
        )
        asked_at = sent.json()["at"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            reply = await emulator.http.get(
                f"{emulator.base}/control/chats/{PROBE_USER}/messages",
                params={"after": seen, "wait": 5},
            )
            messages = reply.json()["messages"]
            if messages:
                seen = max(seen, *(m["message_id"] for m in messages))
            answers = [m for m in messages if m["from_bot"] and m["sent_at"] >= asked_at]
            if answers:
                out.append(answers[0]["sent_at"] - asked_at)
                break
        await asyncio.sleep(0.5)


async def fan_out(rate: int, count: int) -> None:
    paid = rate > 30
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        site = Newsroom()
        await site.start()
        await prepare(folder, site, count)
        async with Emulator(count) as emulator:
            bot = await start_bot(folder, emulator, site, rate, paid)
            try:
                await until(lambda: asyncio.sleep(0, primed(folder)), 60)
                published = time.time()
                site.publish_urgent()
                stop = asyncio.Event()
                latencies: list[float] = []
                prober = asyncio.create_task(probe_latency(emulator, stop, latencies))

                async def done() -> bool:
                    return (
                        len([s for s in await emulator.sends(published) if s[1] != str(PROBE_USER)])
                        >= count
                    )

                await until(done, count / rate * 3 + 60, step=1.0)
                await asyncio.sleep(2)
                stop.set()
                await prober
                sends = [s for s in await emulator.sends(published) if s[1] != str(PROBE_USER)]
            finally:
                bot.terminate()
                await bot.wait()
        await site.stop()
    times = sorted(t for t, _ in sends)
    chats = [c for _, c in sends]
    achieved = (len(times) - 1) / (times[-1] - times[0])
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else float("nan")
    print(
        f"fan-out of one alert to {count:,} subscribers at L = {rate}/s{' (paid)' if paid else ''}:"
    )
    print(
        f"  sent {len(times):,} in {times[-1] - times[0]:.1f} s: {achieved:.1f}/s, "
        f"rate / L = {achieved / rate:.3f}"
    )
    print(f"  most in any one-second window: {max_in_window(times)} (L = {rate})")
    print(f"  duplicates: {len(chats) - len(set(chats))}")
    print(
        f"  /latest reply latency during the broadcast ({len(latencies)} probes): "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )


async def detection(samples: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        site = Newsroom()
        await site.start()
        await prepare(folder, site, 5)
        async with Emulator(5) as emulator:
            bot = await start_bot(folder, emulator, site, 25, False)
            delays = []
            try:
                await until(lambda: asyncio.sleep(0, primed(folder)), 60)
                for n in range(samples):
                    await asyncio.sleep(3 + 4 * n)  # publish at different points of the cycle
                    published = time.time()
                    site.publish_urgent()

                    async def arrived(since: float = published) -> bool:
                        return await emulator.count(since) > 0

                    await until(arrived, 60)
                    delays.append(min(t for t, _ in await emulator.sends(published)) - published)
            finally:
                bot.terminate()
                await bot.wait()
        await site.stop()
    print(
        f"detection, publication to first alert, interval 15 s ({samples} samples): "
        + ", ".join(f"{d:.1f} s" for d in delays)
        + f"; worst {max(delays):.1f} s (goal ≤ 17 s)"
    )


async def memory(subscriber_count: int = 100_000, item_count: int = 50_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        site = Newsroom()
        await site.start()
        await prepare(folder, site, subscriber_count, item_count)
        async with Emulator(subscriber_count) as emulator:
            bot = await start_bot(folder, emulator, site, 1000, True)
            try:
                await until(lambda: asyncio.sleep(0, primed(folder)), 90)
                site.publish_urgent()
                published = time.time()

                async def sending() -> bool:
                    return await emulator.count(published) >= 20_000

                await until(sending, 180, step=1.0)
                status = await asyncio.to_thread(Path(f"/proc/{bot.pid}/status").read_text)
                peak = next(line for line in status.splitlines() if line.startswith("VmHWM"))
            finally:
                bot.terminate()
                await bot.wait()
        await site.stop()
    print(
        f"peak memory of ajil run with {subscriber_count:,} subscribers and {item_count:,} items, "
        f"20,000 alerts into a 100,000 fan-out: {peak.split(':')[1].strip()}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rates", default="30,1000")
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    for rate in (int(r) for r in args.rates.split(",") if r):
        await fan_out(rate, args.subscribers)
    if not args.skip_detection:
        await detection()
    if not args.skip_memory:
        await memory()


if __name__ == "__main__":
    asyncio.run(main())
