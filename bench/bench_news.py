"""News processing benchmarks: extraction, feed parsing, dedup, start-up import time.

Run: python -m bench.bench_news [parsing|nested|dedup|imports ...]
Pages and feeds come from ../shared/corpus when present (real sites), and from the sample news
site's own pages otherwise. Figures go in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.news.article import extract_article
from bot.news.dedup import StoryIndex
from bot.news.encoding import decode
from bot.news.feeds import parse_feed
from bot.news.homepage import parse_homepage
from bot.news.models import ParseError

_ROOT = Path(__file__).resolve().parents[1]
# The shared corpus beside the checkout (/work/shared/corpus for /work/main and /work/wt/*).
CORPUS = next(
    (p / "shared" / "corpus" for p in _ROOT.parents if (p / "shared" / "corpus").is_dir()),
    _ROOT.parent / "shared" / "corpus",
)
ZONE = ZoneInfo("Africa/Casablanca")


def _rate(label: str, unit: str, work: list[str], call: object, rounds: int = 5) -> None:
    call(work[0])  # type: ignore[operator]  # warm caches and lazy imports
    started = time.perf_counter()
    for _ in range(rounds):
        for item in work:
            call(item)  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    count = rounds * len(work)
    print(
        f"{label}: {count / elapsed:,.0f} {unit}/s ({elapsed / count * 1000:.2f} ms each, {count} runs)"
    )


async def _sample_pages() -> tuple[list[str], list[str]]:
    import httpx

    from bot.sandbox.newsroom import Newsroom

    site = Newsroom()
    await site.start()
    try:
        async with httpx.AsyncClient() as client:
            pages = [(await client.get(f"{site.url}article/{s.id}/")).text for s in site.stories]
            feed = (await client.get(f"{site.url}feed/")).text
            home = (await client.get(site.url)).text
    finally:
        await site.stop()
    return [*pages, home], [feed]


def bench_parsing() -> None:
    pages, feeds = asyncio.run(_sample_pages())
    if CORPUS.is_dir():
        pages += [decode(p.read_bytes()) for p in sorted(CORPUS.glob("*.html"))]
        feeds += [decode(p.read_bytes()) for p in sorted(CORPUS.glob("*.xml"))]
    print(f"{len(pages)} pages, {len(feeds)} feeds")
    _rate(
        "article extraction",
        "pages",
        pages,
        lambda html: extract_article(html, None, ZONE) if "<p" in html else None,
    )
    _rate(
        "homepage/ticker parsing",
        "pages",
        pages,
        lambda html: parse_homepage(html, "b", "https://site.ma/"),
    )

    def feed(text: str) -> None:
        # The corpus holds malformed feeds on purpose; their failure costs time too.
        with contextlib.suppress(ParseError):
            parse_feed(text, "b", "https://site.ma/", ZONE)

    _rate("feed parsing", "feeds", feeds, feed, rounds=20)


def bench_dedup() -> None:
    rng = random.Random(1)
    subjects = [
        "الحكومة",
        "وزارة الصحة",
        "المنتخب",
        "الأمن",
        "بنك المغرب",
        "البرلمان",
        "السلطات",
        "الوقاية المدنية",
        "المجلس الجماعي",
        "الجامعة",
    ]
    verbs = ["تعلن", "تقرر", "تنفي", "تؤكد", "تطلق", "توقف", "تفتتح", "تؤجل", "ترفض", "تدعم"]
    objects = [
        "برنامج",
        "مشروع",
        "قرار",
        "حملة",
        "مباراة",
        "صفقة",
        "مرسوم",
        "مخطط",
        "دراسة",
        "قانون",
    ]
    topics = [
        "السكن",
        "الماء",
        "النقل",
        "التعليم",
        "الصحة",
        "الشغل",
        "الرياضة",
        "الفلاحة",
        "الطاقة",
        "السياحة",
        "الثقافة",
        "التجارة",
    ]
    places = ["بطنجة", "بفاس", "بمراكش", "بوجدة", "بأكادير", "بالرباط", "بمكناس", "بتطوان"]
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    index = StoryIndex(window=timedelta(hours=24))
    for n in range(10_000):
        title = (
            f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} "
            f"{rng.choice(topics)} {rng.choice(places)} رقم {n}"
        )
        index.add(n + 1, title, now - timedelta(seconds=(10_000 - n) * 8))
    probes = [
        f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} {rng.choice(topics)} "
        f"{rng.choice(places)} رقم {rng.randrange(20_000)}"
        for _ in range(300)
    ]
    timings = []
    for title in probes:
        started = time.perf_counter()
        index.find(title, now)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(
        f"dedup of a new headline against {len(index):,} recent ones: p50 "
        f"{statistics.median(timings):.2f} ms, p99 {timings[int(len(timings) * 0.99) - 1]:.2f} ms"
    )


NESTED = 100_000
NESTED_SHAPES = {
    "nested <div class=ticker>": '<div class="ticker">' * NESTED + "x" + "</div>" * NESTED,
    "nested <ul><li>": "<ul><li>" * NESTED + "x" + "</li></ul>" * NESTED,
    "nested <a><b>": '<a href="/news/1"><b>' * NESTED + "x" + "</b></a>" * NESTED,
    "nested <span><a>": '<span><a href="/news/2">t' * NESTED + "</a></span>" * NESTED,
    "unclosed <div class=title><a>": '<div class="title"><a class="link" href="/9">' * NESTED,
}


def bench_nested() -> None:
    """parse_homepage on pages of 100,000 nested elements (best of 3 runs per shape)."""
    for label, body in NESTED_SHAPES.items():
        page = f"<html><body>{body}<h2><a href='/news/7'>خبر في آخر الصفحة العميقة</a></h2>"
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            items = parse_homepage(page, "b", "https://site.ma/").items
            runs.append(time.perf_counter() - started)
        assert any(i.url == "https://site.ma/news/7" for i in items)
        print(
            f"100,000 elements, {label} ({len(page.encode()) / 1e6:.1f} MB): "
            f"{min(runs) * 1000:.0f} ms (best of 3; worst {max(runs) * 1000:.0f} ms)"
        )


def bench_imports() -> None:
    for module in ("bot.cli", "bot.news.oneshot", "bot.app"):
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
            runs.append(time.perf_counter() - started)
        print(f"start-up: python -c 'import {module}': {min(runs) * 1000:.0f} ms (best of 3)")


if __name__ == "__main__":
    # python -m bench.bench_news [parsing|nested|dedup|imports ...]; all of them by default.
    chosen = sys.argv[1:] or ["parsing", "nested", "dedup", "imports"]
    for name in chosen:
        {"parsing": bench_parsing, "nested": bench_nested, "dedup": bench_dedup}.get(
            name, bench_imports
        )()
