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

Figures and their reading: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web

from bot import config as config_module
from bot.alerts.watcher import Watcher
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from storage import Database
from storage import sources as source_store
from storage.sources import SourceSpec

FEED_ITEMS = 20
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


async def measure(folder: Path, count: int, port: int) -> tuple[float, float, float, float]:
    """(CPU s, wall s) of the first round and of the second."""
    path = folder / f"polling-{count}.toml"
    lines = [f"[storage]\ndatabase = '{folder / f'polling-{count}.db'}'\n"]
    for n in range(count):
        lines.append(
            f"[[sources]]\nname = 's{n}'\nurl = 'http://127.0.0.1:{port}/feed/{n}'\n"
            "kind = 'rss'\ninterval = 60\n"
        )
    path.write_text("".join(lines), encoding="utf-8")
    config = config_module.load(path, env={})
    db = await Database.open(config.storage.database)
    fetcher = HttpFetcher(policy=FetchPolicy(s.url for s in config.sources))
    try:
        states = await source_store.sync(
            db, [SourceSpec(s.name, s.url, s.kind) for s in config.sources]
        )
        # The sources that keep an ETag have been read before: their validator is stored, as
        # their first poll would have left it (storing 100,000 first headlines, deduplicated
        # one against the other, is another benchmark's business).
        now = datetime.now(UTC)
        for state in states:
            if int(state.name[1:]) % 10 != 0:
                await source_store.record_success(db, state.id, now, ETAG, None)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", default="100,1000,5000")
    parser.add_argument("--database", help="a folder for the databases (default: temporary)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server's part
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
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


if __name__ == "__main__":
    main()
