"""Three `ajil run` workers on one database share the polling (issue 16, point 4): each source is
polled by the one worker that holds its poll lease, every source by some worker; the worker
with the most sources is killed with SIGKILL, and its sources are held and polled by the
others within the lease (8 s, +2 s for the next step).

Each source is its own sample site (bot.sandbox.newsroom), so that its requests are counted
apart; which worker polled a source is read from each worker's /metrics
(`ajil_fetches_total`). Both backends (the `database_target` fixture). The killed worker is
left unreaped until the end, as in tests/test_failover.py: its pid stays taken, so the others
cannot tell it is gone and must wait out its leases.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx

from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from bot.sharing import share
from storage import Database, members
from tests.conftest import TOKEN
from tests.test_failover import _free_port, _start, until

WORKERS = 3
SOURCES = 8
INTERVAL = 15  # the shortest a source may have (bot.config.MIN_INTERVAL)


def _config(folder: Path, n: int, database: str, api_url: str, sites: list[Newsroom]) -> Path:
    path = folder / f"worker{n}.toml"
    path.write_text(
        f"[telegram]\ntoken = '{TOKEN}'\napi_url = '{api_url}'\n"
        f"[storage]\ndatabase = '{database}'\n"
        f"[http]\nport = {_free_port()}\n"
        + "".join(
            f"[[sources]]\nname = 's{i}'\nurl = '{site.url}feed/'\nkind = 'rss'\n"
            f"interval = {INTERVAL}\n"
            for i, site in enumerate(sites)
        ),
        encoding="utf-8",
    )
    return path


def _port(config: Path) -> int:
    found = re.search(r"\[http\]\nport = (\d+)", config.read_text(encoding="utf-8"))
    assert found
    return int(found.group(1))


async def _fetches(port: int) -> Counter[str]:
    """Polls by source, as a worker's /metrics counts them (every result)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=10)).text
    counts: Counter[str] = Counter()
    for source, value in re.findall(
        r'^ajil_fetches_total\{[^}]*source="(s\d+)"[^}]*\} (\S+)$', text, re.M
    ):
        counts[source] += int(float(value))
    return counts


def _requests(site: Newsroom) -> int:
    return sum(1 for _, path in site.requests if path == "/feed/")


async def test_workers_share_the_sources_and_take_a_dead_ones(
    tmp_path: Path, database_target: Path | str
) -> None:
    database = str(database_target)
    emulator = Emulator(TOKEN)
    await emulator.start()
    sites = [Newsroom() for _ in range(SOURCES)]
    for site in sites:
        await site.start()
    names = [f"s{i}" for i in range(SOURCES)]
    configs = [_config(tmp_path, n, database, emulator.api_url, sites) for n in range(WORKERS)]
    ports = [_port(c) for c in configs]
    workers = [_start(c, tmp_path / f"worker{n}.log") for n, c in enumerate(configs)]
    db: Database | None = None
    killed: subprocess.Popen[bytes] | None = None
    try:
        now = lambda: int(time.time())  # noqa: E731

        async def opened() -> bool:
            nonlocal db
            try:
                db = await Database.open(database)
            except Exception:
                return False
            return True

        await until(opened, 60, "the database")
        assert db is not None
        store = db

        def by_pid(worker: str) -> subprocess.Popen[bytes]:
            return next(w for w in workers if w.pid == int(worker.rsplit("/", 3)[1]))

        async def settled() -> bool:
            """Every worker a member, and each source held by the member the rule names."""
            live = await members.live(store, now())
            held = await members.pollers(store, now())
            return len(live) == WORKERS and held == share(names, live)

        await until(settled, 90, "three workers sharing the sources")
        held = await members.pollers(store, now())
        # A round of polls after the shares settled: each source polled by its holder only.
        before = [await _fetches(p) for p in ports]
        requested = [_requests(s) for s in sites]

        async def a_round() -> bool:
            return all(_requests(s) > r for s, r in zip(sites, requested, strict=True))

        await until(a_round, 3 * INTERVAL, "a poll of every source")
        await asyncio.sleep(1)  # the polls just seen are counted in the metrics
        after = [await _fetches(p) for p in ports]
        assert await members.pollers(store, now()) == held  # nothing moved meanwhile
        for source in names:
            polled_by = [
                workers[n].pid for n in range(WORKERS) if after[n][source] > before[n][source]
            ]
            assert polled_by == [by_pid(held[source]).pid], (source, polled_by, held)

        # The worker with the most sources dies.
        counts = Counter(held.values())
        victim, _ = counts.most_common(1)[0]
        moved = [s for s, w in held.items() if w == victim]
        killed = by_pid(victim)
        requested = [_requests(s) for s in sites]
        polls_before = [await _fetches(p) for p in ports]
        killed.send_signal(signal.SIGKILL)
        killed_at = time.time()

        async def taken() -> bool:
            now_held = await members.pollers(store, now())
            return all(now_held.get(s) not in (None, victim) for s in moved)

        await until(taken, 30, "the dead worker's sources taken")
        took = time.time() - killed_at

        async def polled_again() -> bool:
            return all(_requests(sites[int(s[1:])]) > requested[int(s[1:])] for s in moved)

        await until(polled_again, 30, "the dead worker's sources polled")
        polled_after = time.time() - killed_at
        await asyncio.sleep(1)
        survivors = [n for n in range(WORKERS) if workers[n] is not killed]
        polls_after = {n: await _fetches(ports[n]) for n in survivors}
        new_held = await members.pollers(store, now())
        for source in moved:
            polled_by = [n for n in survivors if polls_after[n][source] > polls_before[n][source]]
            assert polled_by == [workers.index(by_pid(new_held[source]))], (source, polled_by)
        print(
            f"\n{'PostgreSQL' if '://' in database else 'SQLite'}: {len(moved)} of {SOURCES}"
            f" sources held by the killed worker; taken after {took:.1f} s, polled again"
            f" after {polled_after:.1f} s; shares {dict(Counter(held.values()).most_common())}"
        )
        assert took <= 10, f"the dead worker's sources were taken only after {took:.1f} s"
    finally:
        for worker in workers:
            if worker.poll() is None and worker is not killed:
                worker.send_signal(signal.SIGTERM)
        codes = [await asyncio.to_thread(w.wait, 30) for w in workers]
        if db is not None:
            await db.close()
        for site in sites:
            await site.stop()
        await emulator.stop()
    logs = [path.read_text()[-2000:] for path in sorted(tmp_path.glob("*.log"))]  # noqa: ASYNC240
    assert [c for w, c in zip(workers, codes, strict=True) if w is not killed] == [0, 0], logs
