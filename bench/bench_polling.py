"""Polling CPU at 100, 1,000 and 5,000 sources, 90 % of which answer 304 Not Modified.

Each source is an RSS feed on a local HTTP server (127.0.0.1, in its own process so that its
CPU is not counted): nine in ten keep an ETag and answer 304 to a conditional request; one in
ten ignores validators and sends its whole feed (20 items) every time. The leader's path is
the product's: `Watcher.poll` for every source (fetch with the stored validators, parse, dedup
against what is stored, record the poll), all sources once, as their one-minute interval does
in a minute. The sources with an ETag start with it stored (as their first poll leaves it);
the first round stores the other sources' feeds and is shown apart; the second is the steady
state: the process's CPU seconds for one round are its CPU seconds a minute at
`interval = 60`.

    .venv/bin/python -m bench.bench_polling [--sources 100,1000,5000] [--database FOLDER]

With `--workers 1,2` the polling is spread as `ajil run` spreads it (bot.sharing): each
worker is a process of its own on the one database (`--database` a folder for a SQLite file,
or a `postgresql://` URL), keeps its membership and poll leases renewed, and polls only the
sources it holds, through the same `Watcher.poll` and its lease fence, IN_FLIGHT at a time;
each worker's CPU for a round of its sources is printed, the lease upkeep included:

    .venv/bin/python -m bench.bench_polling --sources 1000 --workers 1,2 [--database URL]

Figures and their reading: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web

from bot import config as config_module
from bot.alerts.watcher import Watcher
from bot.fleet import worker_id
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.sharing import Sharing, share
from storage import Database, members
from storage import sources as source_store
from storage.sources import SourceSpec

FEED_ITEMS = 20
# Polls under way at once in a worker of a spread fleet (`--workers`).
IN_FLIGHT = 50
ETAG = '"v1"'


def feed(source: int) -> bytes:
    """An RSS 2.0 feed of FEED_ITEMS headlines of this source, published in the last hours."""
    now = datetime.now(UTC)
    entries = []
    for n in range(FEED_ITEMS):
        title = escape(f"خبر رقم {n} من المصدر {source} حول الطقس والطرق")
        entries.append(
            f"<item><title>{title}</title>"
            f"<link>http://127.0.0.1/{source}/{n}</link>"
            f"<guid>s{source}-{n}</guid>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=10 * n))}</pubDate>"
            f"<description>{title}</description></item>"
        )
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>مصدر {source}</title><link>http://127.0.0.1/</link>"
        f"<description>feed</description>{''.join(entries)}</channel></rss>"
    )
    return body.encode()


async def serve(port: int) -> None:
    """The feeds' server: /feed/N; N % 10 == 0 ignores validators."""
    bodies: dict[int, bytes] = {}

    async def handle(request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        if number % 10 != 0 and request.headers.get("If-None-Match") == ETAG:
            return web.Response(status=304, headers={"ETag": ETAG})
        body = bodies.setdefault(number, feed(number))
        headers = {"ETag": ETAG} if number % 10 != 0 else {}
        return web.Response(body=body, content_type="application/rss+xml", headers=headers)

    app = web.Application()
    app.router.add_get("/feed/{number}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def write_config(folder: Path, count: int, port: int, database: str) -> Path:
    """The configuration of `count` sources on the feeds' server at `port`."""
    path = folder / f"polling-{count}.toml"
    lines = [f"[storage]\ndatabase = '{database}'\n"]
    for n in range(count):
        lines.append(
            f"[[sources]]\nname = 's{n}'\nurl = 'http://127.0.0.1:{port}/feed/{n}'\n"
            "kind = 'rss'\ninterval = 60\n"
        )
    path.write_text("".join(lines), encoding="utf-8")
    return path


async def prepare(db: Database, config: config_module.Config) -> None:
    """The sources stored; those that keep an ETag have been read before: their validator is
    stored, as their first poll would have left it (storing 100,000 first headlines,
    deduplicated one against the other, is another benchmark's business)."""
    states = await source_store.sync(
        db, [SourceSpec(s.name, s.url, s.kind) for s in config.sources]
    )
    now = datetime.now(UTC)
    for state in states:
        if int(state.name[1:]) % 10 != 0:
            await source_store.record_success(db, state.id, now, ETAG, None)


async def measure(folder: Path, count: int, port: int) -> tuple[float, float, float, float]:
    """(CPU s, wall s) of the first round and of the second."""
    path = write_config(folder, count, port, str(folder / f"polling-{count}.db"))
    config = config_module.load(path, env={})
    db = await Database.open(config.storage.database)
    fetcher = HttpFetcher(policy=FetchPolicy(s.url for s in config.sources))
    try:
        await prepare(db, config)
        watcher = Watcher(db, config, fetcher)
        rounds = []
        for _ in range(2):
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(watcher.poll(s.name) for s in config.sources))
            rounds += [time.process_time() - cpu, time.perf_counter() - wall]
        return rounds[0], rounds[1], rounds[2], rounds[3]
    finally:
        await fetcher.aclose()
        await db.close()


class _Unscheduled:
    """The watcher's scheduling, left out: the benchmark polls the held sources itself."""

    def schedule_polls(self, job_queue: object, names: Collection[str], soon: bool) -> None:
        return None

    def unschedule_polls(self, job_queue: object, names: Collection[str]) -> None:
        return None

    async def settle(self, names: Collection[str]) -> None:
        return None


async def spread_worker(config_path: Path, fleet: int) -> dict[str, float]:
    """One worker of a fleet of `fleet`: join, wait until the shares settle, then two rounds
    of polls of the sources it holds; the CPU and wall seconds of the second round."""
    config = config_module.load(config_path, env={})
    db = await Database.open(config.storage.database)
    fetcher = HttpFetcher(policy=FetchPolicy(s.url for s in config.sources))
    stop = asyncio.Event()
    try:
        watcher = Watcher(db, config, fetcher)
        spread = watcher.spread_out(lambda name: sharing.ready(name))
        sharing = Sharing(db, None, _Unscheduled(), spread, worker_id())
        task = asyncio.create_task(sharing.run(stop))
        names = sorted(spread)
        while True:
            await asyncio.sleep(0.5)
            fleet_now = await members.live(db, int(time.time()))
            mine = {s for s, w in share(names, fleet_now).items() if w == sharing.worker}
            if len(fleet_now) == fleet and sharing.held == mine:
                break
        held = sorted(sharing.held)
        # The job queue spreads a worker's polls over the interval; all of them at once would
        # queue hundreds of writes ahead of the lease renewal (docs/BENCHMARKS.md).
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def poll(name: str) -> None:
            async with gate:
                await watcher.poll(name)

        rounds = []
        for _ in range(2):
            polls, cpu, wall = watcher.polls, time.process_time(), time.perf_counter()
            await asyncio.gather(*(poll(name) for name in held))
            rounds += [time.process_time() - cpu, time.perf_counter() - wall]
        stop.set()
        await task
        return {
            "sources": len(held),
            "polled": watcher.polls - polls,
            "cpu": rounds[2],
            "wall": rounds[3],
            "first_cpu": rounds[0],
        }
    finally:
        stop.set()
        await fetcher.aclose()
        await db.close()


async def upkeep(config_path: Path) -> float:
    """CPU seconds of a minute of lease upkeep for a worker holding every source: 30 steps
    (one each RENEW_EVERY = 2 s) of the membership write and the poll leases' upsert."""
    config = config_module.load(config_path, env={})
    db = await Database.open(config.storage.database)
    names = [s.name for s in config.sources]
    try:
        start = int(time.time())
        await members.hold(db, "upkeep", names, start, 8)
        cpu = time.process_time()
        for n in range(30):
            await members.beat(db, "upkeep", start + n, 8)
            await members.hold(db, "upkeep", names, start + n, 8)
        spent = time.process_time() - cpu
        await members.leave(db, "upkeep")
        return spent
    finally:
        await db.close()


async def prepare_spread(config_path: Path) -> None:
    config = config_module.load(config_path, env={})
    db = await Database.open(config.storage.database)
    try:
        await prepare(db, config)
    finally:
        await db.close()


def measure_spread(folder: Path, count: int, port: int, fleet: int, database: str | None) -> None:
    """Print each worker's CPU a round with `fleet` workers sharing `count` sources."""
    target = database or str(folder / f"polling-{count}-{fleet}.db")
    path = write_config(folder, count, port, target)
    asyncio.run(prepare_spread(path))
    if fleet == 1:
        print(f"{count:,} sources: lease upkeep {asyncio.run(upkeep(path)):.2f} s CPU a minute")
    command = [sys.executable, "-m", "bench.bench_polling", "--worker-of", str(path)]
    workers = [
        subprocess.Popen(
            [*command, "--fleet", str(fleet)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(fleet)
    ]
    results = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
    for n, result in enumerate(results):
        cpu = result["cpu"]
        print(
            f"{count:,} sources, {fleet} worker(s): worker {n + 1} holds {result['sources']:.0f}"
            f" (polled {result['polled']:.0f} in the round; first round {result['first_cpu']:.2f} s),"
            f" {cpu:.2f} s CPU a round ({result['wall']:.1f} s), {cpu / 60:.1%} of a core at"
            f" interval = 60 ({cpu / max(result['sources'], 1) * 1000:.2f} ms CPU a poll)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", default="100,1000,5000")
    parser.add_argument("--database", help="a folder for the databases (default: temporary)")
    parser.add_argument("--workers", help="spread over this many workers, e.g. 1,2")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server's part
    parser.add_argument("--worker-of", type=Path, help=argparse.SUPPRESS)  # one worker's part
    parser.add_argument("--fleet", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
        return
    if args.worker_of is not None:
        print(json.dumps(asyncio.run(spread_worker(args.worker_of, args.fleet))), flush=True)
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_polling", "--serve", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory(prefix="ajil-polling-") as tmp:
            url = args.database if args.database and "://" in args.database else None
            if args.workers:
                folder = Path(tmp if url or not args.database else args.database)
                for count in (int(c) for c in args.sources.split(",")):
                    for fleet in (int(w) for w in args.workers.split(",")):
                        if url:  # a fresh start for each fleet: no leases of the last one
                            asyncio.run(_empty(url))
                        measure_spread(folder, count, port, fleet, url)
                return
            folder = Path(args.database or tmp)
            for count in (int(c) for c in args.sources.split(",")):
                first_cpu, first_wall, cpu, wall = asyncio.run(measure(folder, count, port))
                print(
                    f"{count:,} sources: first round {first_cpu:.2f} s CPU ({first_wall:.1f} s);"
                    f" then {cpu:.2f} s CPU a round ({wall:.1f} s), {cpu / 60:.1%} of a core"
                    f" at interval = 60 ({cpu / count * 1000:.2f} ms CPU a poll)"
                )
    finally:
        server.terminate()
        server.wait()


async def _empty(url: str) -> None:
    """Drop what an earlier run left in the PostgreSQL database at `url` (its own schema)."""
    db = await Database.open(url)
    try:
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM leases")
    finally:
        await db.close()


if __name__ == "__main__":
    main()
