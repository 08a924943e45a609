"""Floods and slow pages (issue 13): /help latency and the delay of a breaking alert while the
bot is under each load, on loopback. The real `ajil run` runs in its own process; the emulator
and the sample news site run here, and the load is pushed straight into the emulator.

Loads: (a) 3 users x 16 /summary links to pages of the configured source that answer after
19 s; (b) 3,000 unknown commands from 20 users in about 13 s; (c) 500 inline queries from one
user in about 10 s. Throughout each, a fresh user sends /help every 0.25 s (fresh, so that the
probes never meet the per-user limit), and an urgent story is published on the site right after
one of the bot's polls (interval 15 s): its delay is compared with the same measure unloaded.

Run: python -m bench.bench_floods [--slow 19] [--skip a,b,c]
Bounded: each load stops after its count, and each wait has a deadline (about 4 min in all).
Figures and their reading are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from bot.sandbox.serve import DEFAULT_TOKEN
from bot.sandbox.world import SentMessage

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = 15
POLL_PATHS = ("/", "/feed/", "/wp-json/wp/v2/posts")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SlowSite(Newsroom):
    """The sample site; article pages asked with ?slow=… answer after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def _article(self, request: web.Request) -> web.Response:
        if "slow" in request.query:
            await asyncio.sleep(self.delay)
        return await super()._article(request)


class Bench:
    def __init__(self, emulator: Emulator, site: SlowSite, metrics_port: int) -> None:
        self.emulator, self.site, self.metrics_port = emulator, site, metrics_port
        self.world = emulator.world
        self._next_user = 200_000
        self.subscriber = self.user()
        self.flooders: list[int] = []

    def user(self) -> int:
        self._next_user += 1
        self.world.add_user(self._next_user, f"u{self._next_user}", language_code="ar")
        return self._next_user

    async def help_latency(self) -> float:
        """Seconds from a /help reaching the emulator to the bot's answer being recorded."""
        user = self.user()
        asked = time.time()
        await self.world.user_message(user, "/help")
        await self.world.wait_for(lambda: bool(self.world.bot_messages(user)), 60)
        return self.world.bot_messages(user)[0].sent_at - asked

    async def probe(self, stop: asyncio.Event, out: list[float]) -> None:
        while not stop.is_set():
            out.append(await self.help_latency())
            await asyncio.sleep(0.25)

    async def alert_delay(self) -> float:
        """Publish an urgent story right after a poll; seconds until the subscriber has it."""
        polls = self._polls()
        deadline = time.monotonic() + 2 * INTERVAL + 10
        while self._polls() == polls:
            if time.monotonic() > deadline:
                raise TimeoutError("no poll of the site")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the poll's request is out; the story is for the next one
        story = self.site.publish_urgent()
        published = time.time()

        def alerts() -> list[SentMessage]:
            return [m for m in self.world.bot_messages(self.subscriber) if story.title in m.text]

        await self.world.wait_for(lambda: bool(alerts()), 3 * INTERVAL + 30)
        sent = alerts()[0]
        return sent.sent_at - published

    def _polls(self) -> int:
        return sum(1 for _, path in self.site.requests if path in POLL_PATHS)

    async def under(
        self, name: str, load: Callable[[], Coroutine[Any, Any, None]], minimum: float = 15
    ) -> dict[str, object]:
        """/help probes and one alert while `load` runs (and at least `minimum` seconds)."""
        latencies: list[float] = []
        stop = asyncio.Event()
        probing = asyncio.create_task(self.probe(stop, latencies))
        started = time.monotonic()
        loading = asyncio.create_task(load())
        alert = await self.alert_delay()
        await asyncio.wait_for(loading, 300)
        rest = minimum - (time.monotonic() - started)
        if rest > 0:
            await asyncio.sleep(rest)
        stop.set()
        await probing
        result = figures(name, latencies, alert, time.monotonic() - started)
        print(
            f"{name:<32} /help p50 {result['p50']:.3f} s  p95 {result['p95']:.3f} s  "
            f"max {result['max']:.3f} s  ({result['probes']} probes)  "
            f"alert {alert:.1f} s  load {result['seconds']:.0f} s",
            flush=True,
        )
        return result

    async def metric_labels(self) -> int:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{self.metrics_port}/metrics")).text
        return sum(1 for line in text.splitlines() if line.startswith("ajil_command_seconds_count"))


def figures(name: str, latencies: list[float], alert: float, seconds: float) -> dict[str, object]:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "name": name,
        "p50": statistics.median(ordered),
        "p95": p95,
        "max": ordered[-1],
        "probes": len(ordered),
        "alert": alert,
        "seconds": seconds,
    }


async def slow_summaries(bench: Bench) -> None:
    """(a) 3 users x 16 /summary links to pages answering after the site's delay; done when
    each user's summary has replaced its "working on it" message."""
    world, site = bench.world, bench.site
    users = [bench.user() for _ in range(3)]
    story = site.stories[0]
    for n in range(16):
        for user in users:
            await world.user_message(user, f"/summary {site.url}article/{story.id}/?slow={n}")

    def settled() -> bool:
        firsts = [world.bot_messages(u)[:1] for u in users]
        return all(f and "⏳" not in f[0].text for f in firsts)

    await world.wait_for(settled, 3 * (site.delay + 5) + 30)


async def unknown_commands(bench: Bench) -> None:
    """(b) 3,000 unknown commands from 20 users, about 230 a second."""
    users = [bench.user() for _ in range(20)]
    bench.flooders = users
    for n in range(3000):
        await bench.world.user_message(users[n % 20], f"/nosuch_{n} x")
        if n % 23 == 22:
            await asyncio.sleep(0.1)


async def inline_queries(bench: Bench) -> None:
    """(c) 500 inline queries from one user, about 50 a second."""
    user = bench.user()
    for n in range(500):
        await bench.world.inline_query(user, f"خبر {n}")
        if n % 5 == 4:
            await asyncio.sleep(0.1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=float, default=19.0, help="seconds a slow page takes")
    parser.add_argument("--skip", default="", help="loads to skip, among a,b,c")
    args = parser.parse_args()
    skip = set(args.skip.split(",")) - {""}
    emulator = Emulator(DEFAULT_TOKEN)
    await emulator.start()
    site = SlowSite(args.slow)
    await site.start()
    site.publish_urgent()
    metrics_port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f"[telegram]\ntoken = '{DEFAULT_TOKEN}'\napi_url = '{emulator.api_url}'\n"
            f"[storage]\ndatabase = '{Path(tmp) / 'ajil.db'}'\n"
            f"[logging]\nlevel = 'WARNING'\n[http]\nport = {metrics_port}\n"
            f"[[sources]]\nname = 'site'\nurl = '{site.url}'\ninterval = {INTERVAL}\n",
            encoding="utf-8",
        )
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ},
        )
        try:
            bench = Bench(emulator, site, metrics_port)
            await emulator.world.user_message(bench.subscriber, "/subscribe")
            await emulator.world.wait_for(
                lambda: bool(emulator.world.bot_messages(bench.subscriber)), 60
            )
            print(f"ajil run, interval {INTERVAL} s, slow pages {args.slow:g} s", flush=True)
            await bench.under("unloaded", lambda: asyncio.sleep(0))
            if "a" not in skip:
                await bench.under("a: 3 users x 16 slow /summary", lambda: slow_summaries(bench))
            if "b" not in skip:
                await bench.under("b: 3,000 unknown commands", lambda: unknown_commands(bench))
                answers = sum(len(emulator.world.bot_messages(u)) for u in bench.flooders)
                print(f"   answers to the 20 flooders: {answers}")
                print(f"   command label values in /metrics: {await bench.metric_labels()}")
            if "c" not in skip:
                await bench.under("c: 500 inline queries", lambda: inline_queries(bench))
                print(f"   inline queries answered: {len(emulator.api.inline_answers)}")
        finally:
            bot.terminate()
            await asyncio.wait_for(bot.wait(), 60)
            await site.stop()
            await emulator.stop()


if __name__ == "__main__":
    asyncio.run(main())
