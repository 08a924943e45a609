"""A Bot API outage during a broadcast: every subscriber still gets the alert, once.

Run: python -m bench.bench_outage [--seconds 180] [--subscribers 200]

The real watcher and sender (SQLite in a temporary folder) against the emulator and the sample
news site on 127.0.0.1; the emulator answers every call 502 (an HTML page, as Telegram's front
end does) for `--seconds` from the moment a breaking story is published. Printed: when the last
subscriber got it, the deliveries by state, duplicates, and how many calls were refused.
Figures go in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from tests.alerting import pipeline


async def run(seconds: float, count: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        async with pipeline(Path(folder)) as p:
            users = list(range(1, count + 1))
            await p.add_users(users)
            await p.watcher.poll("site")
            started = time.monotonic()
            p.emulator.faults.outage_until = started + seconds
            p.newsroom.publish_urgent()
            await p.watcher.poll("site")
            await p.until(lambda: all(len(p.texts(u)) >= 1 for u in users), timeout=seconds + 600)
            done = time.monotonic() - started
            await p.until(
                lambda: _states(Path(p.db.target)).keys() <= {"sent"}, timeout=30
            )  # the last outcomes written
            duplicates = sum(1 for u in users if len(p.texts(u)) > 1)
            refused = sum(1 for c in p.emulator.calls if c.error == 502)
            return (
                f"outage {seconds:.0f} s, {count} subscribers: the last got the alert {done:.0f} s"
                f" after it began; deliveries {_states(Path(p.db.target))}; duplicates {duplicates};"
                f" calls answered 502: {refused}"
            )


def _states(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
    return {str(state): int(n) for state, n in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--subscribers", type=int, default=200)
    args = parser.parse_args()
    print(asyncio.run(run(args.seconds, args.subscribers)))


if __name__ == "__main__":
    main()
