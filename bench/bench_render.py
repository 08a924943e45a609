"""Rendered polls (render = true): time and peak memory per poll, through the product's path.

Run: python -m bench.bench_render [--polls 20] [--case small|kifache|all]

A site on 127.0.0.1 (tests/rendering.py) serves a homepage whose urgent bar a script fills
300 ms after it loads; the real fetcher, SourcePoller and Renderer poll it as `ajil run`
would (kind = "html", render = true). Cases: `small`, the test page (2 headlines); `kifache`,
the saved kifache.com homepage of ../shared/corpus (60 KB, hundreds of links) with the same
filling script (skipped where the corpus is absent). Printed per case: the first poll (with
the browser's start), then the p50 / p95 / max of the following polls; the memory of what rendering
adds, Playwright's driver and Chromium's processes (their PSS summed, sampled every 50 ms), at
its peak and once idle after the first and the last poll (a growth between the two would be a
leak); this process's own peak (RSS); and the time of 4 sources rendered at once (at most 2
render together), beside the same poll without render. Figures go in
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.news.render import Renderer, check_available
from bot.news.sources import SourcePoller, SourceSettings
from tests import rendering
from tests.conftest import CORPUS

MB = 1024 * 1024
ZONE = ZoneInfo("Africa/Casablanca")
KIFACHE = Path(CORPUS) / "homepages" / "kifache_2018_homepage.html" if CORPUS else None


class Sampler:
    """The peak memory of this process's children (driver and browser), sampled meanwhile."""

    def __init__(self) -> None:
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rendering.resident_bytes(rendering.descendants()))
            await asyncio.sleep(0.05)

    def __enter__(self) -> Sampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


def kifache_page(intranet: str) -> str | None:
    if KIFACHE is None or not KIFACHE.exists():
        return None
    saved = KIFACHE.read_text(encoding="utf-8")
    # The saved page's own scripts were removed from the transcription; ours fills its bar.
    script = rendering.homepage(intranet).split("<script>", 1)[1]
    return saved.replace("</body>", f"<script>{script}", 1)


async def run_case(name: str, polls: int) -> None:
    async with rendering.serve() as site:
        if name == "kifache":
            page = kifache_page(site.intranet)
            if page is None:
                print(f"{name}: skipped (../shared/corpus is absent)")
                return
            site.page = page
        url = site.base + "/"
        policy = FetchPolicy([url])
        async with HttpFetcher(policy=policy) as fetcher:
            renderer = Renderer(policy, executable=check_available())
            settings = SourceSettings(name, url, "html", ZONE, render=True)
            source = SourcePoller(settings, fetcher, renderer=renderer)
            try:
                with Sampler() as sampler:
                    started = time.perf_counter()
                    first = await source.poll(None, datetime.now(UTC))
                    cold = time.perf_counter() - started
                    assert sum(i.urgent for i in first.items) == 2, first.warnings
                    await asyncio.sleep(0.5)
                    idle_first = rendering.resident_bytes(rendering.descendants())
                    times = []
                    for _ in range(polls):
                        started = time.perf_counter()
                        result = await source.poll(None, datetime.now(UTC))
                        times.append(time.perf_counter() - started)
                        assert sum(i.urgent for i in result.items) == 2, result.warnings
                    await asyncio.sleep(0.5)
                    idle_last = rendering.resident_bytes(rendering.descendants())
                    plain = SourcePoller(SourceSettings(name, url, "html", ZONE), fetcher)
                    unrendered = []
                    for _ in range(polls):
                        started = time.perf_counter()
                        await plain.poll(None, datetime.now(UTC))
                        unrendered.append(time.perf_counter() - started)
                    together = [
                        SourcePoller(
                            SourceSettings(f"{name}{n}", url, "html", ZONE, render=True),
                            fetcher,
                            renderer=renderer,
                        )
                        for n in range(4)
                    ]
                    started = time.perf_counter()
                    await asyncio.gather(*(s.poll(None, datetime.now(UTC)) for s in together))
                    four = time.perf_counter() - started
            finally:
                await renderer.aclose()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{name}: first poll (browser start included) {cold:.2f} s; "
        f"next {polls} polls p50 {statistics.median(times):.2f} s, p95 {p95:.2f} s, "
        f"max {times[-1]:.2f} s; 4 sources at once {four:.2f} s; the same page without "
        f"render p50 {statistics.median(unrendered) * 1000:.0f} ms"
    )
    print(
        f"{name}: driver + Chromium memory (PSS) peak {sampler.peak / MB:.0f} MB, idle after the first "
        f"poll {idle_first / MB:.0f} MB, after the last {idle_last / MB:.0f} MB; "
        f"this process peak {own:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--case", choices=["small", "kifache", "all"], default="all")
    args = parser.parse_args()
    for name in ["small", "kifache"] if args.case == "all" else [args.case]:
        asyncio.run(run_case(name, args.polls))


if __name__ == "__main__":
    main()
