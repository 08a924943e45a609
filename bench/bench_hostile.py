"""Hostile sources: time and peak memory of each case, through the product's own poll path.

Run: python -m bench.bench_hostile [--case NAME]

Each case runs in a fresh process (so that its peak memory is its own): a server on 127.0.0.1
serves the hostile body, and the real fetcher, source poller and ingestor (SQLite in a
temporary folder) poll it twice, as `ajil run` would. Printed: the outcome, the wall time of
the polls and the process's peak resident memory. Figures go in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

GIB = 1024**3


def _zeros_gzip(size: int, layers: int) -> bytes:
    """`size` zero bytes, gzip-compressed `layers` times, without holding them in memory."""

    def once(chunks: Iterator[bytes]) -> Iterator[bytes]:
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        for chunk in chunks:
            out = packer.compress(chunk)
            if out:
                yield out
        yield packer.flush()

    def zeros() -> Iterator[bytes]:
        block = b"\0" * (1 << 20)
        for _ in range(size // len(block)):
            yield block

    stream: Iterator[bytes] = zeros()
    for _ in range(layers):
        stream = once(stream)
    return b"".join(stream)


def _feed(titles: list[str]) -> str:
    items = "".join(
        f"<item><title>{t}</title><link>http://127.0.0.1/news/{n}</link></item>"
        for n, t in enumerate(titles)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def _words(count: int, seed: int) -> str:
    vocabulary = [
        "مدينة",
        "طريق",
        "مطر",
        "سوق",
        "مجلس",
        "وزارة",
        "قرار",
        "ساحل",
        "جامعة",
        "ملعب",
        "فريق",
        "ميناء",
        "قطار",
    ]
    return " ".join(vocabulary[(seed * 7 + i * 3) % len(vocabulary)] for i in range(count))


def _case_body(name: str) -> tuple[bytes, dict[str, str], str]:
    """(body, headers, kind) of each case."""
    if name == "gzip-gzip-1gib":
        return _zeros_gzip(GIB, 2), {"Content-Encoding": "gzip, gzip"}, "rss"
    if name == "gzip-1gib":
        return _zeros_gzip(GIB, 1), {"Content-Encoding": "gzip"}, "rss"
    if name.startswith("deep-"):
        shape = {"deep-divs": "<div>", "deep-lists": "<ul><li>", "deep-tables": "<table><tr><td>"}
        html = "<html><body>" + shape[name] * 100_000 + "نص</body></html>"
        return html.encode(), {"Content-Type": "text/html; charset=utf-8"}, "html"
    if name == "long-titles":
        titles = [_words(2_500, n)[:20_000] for n in range(100)]
        return _feed(titles).encode(), {"Content-Type": "application/rss+xml"}, "rss"
    if name == "huge-title":
        return (
            _feed(["خبر " * 600_000]).encode(),  # 2.4 million characters, 4.2 MB
            {"Content-Type": "application/rss+xml"},
            "rss",
        )
    raise SystemExit(f"unknown case {name}")


CASES = ["gzip-gzip-1gib", "gzip-1gib", "deep-divs", "deep-lists", "deep-tables"]
CASES += ["long-titles", "huge-title"]


async def _run_case(name: str) -> str:
    from bot.news.fetch import HttpFetcher
    from bot.news.ingest import Ingestor
    from bot.news.netguard import FetchPolicy
    from bot.news.sources import SourceError, SourcePoller, SourceSettings
    from storage import Database
    from storage import sources as source_store
    from storage.sources import SourceSpec

    body, headers, kind = _case_body(name)

    async def serve(_: web.Request) -> web.Response:
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "bench.db")
        (state,) = await source_store.sync(db, [SourceSpec("hostile", url, kind)])
        ingestor = Ingestor(db, timedelta(hours=6), timedelta(hours=24))
        settings = SourceSettings("hostile", url, kind, ZoneInfo("Africa/Casablanca"))
        outcome = ""
        started = time.perf_counter()
        async with HttpFetcher(policy=FetchPolicy([url])) as fetcher:
            poller = SourcePoller(settings, fetcher)
            for _ in range(2):
                now = datetime.now(UTC)
                try:
                    result = await poller.poll(None, now)
                except SourceError as exc:
                    outcome = f"failed: {exc.reason}"
                    continue
                async with db.transaction():
                    await ingestor.ingest(state, result, now)
                state = await source_store.get(db, "hostile") or state
                longest = max((len(i.title) for i in result.items), default=0)
                outcome = f"{len(result.items)} items, longest title {longest} characters"
        elapsed = time.perf_counter() - started
        await db.close()
    await runner.cleanup()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"{name}: {outcome}; two polls {elapsed:.2f} s; peak memory {peak:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES)
    args = parser.parse_args()
    if args.case:
        print(asyncio.run(_run_case(args.case)), flush=True)
        return
    for case in CASES:
        done = subprocess.run(
            [sys.executable, "-m", "bench.bench_hostile", "--case", case],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        print(done.stdout.strip() or f"{case}: failed ({done.stderr.strip()[-300:]})")


if __name__ == "__main__":
    main()
