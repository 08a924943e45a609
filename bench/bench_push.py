"""Push to first alert: how long after a site pushes an urgent story the first alert leaves.

The real `ajil run` in its own process, with one `pusher` source on the sample news site; the
site, its push server (bot/sandbox/pusher.py) and the Bot API emulator run here, so that the
push's time (when the push server sent it) and the alert's (when the emulator received the
sendMessage) are read on one clock. The source polls hourly: every alert measured is a push's.

Run: python -m bench.bench_push [--pushes 20] [--subscribers 10] [--gap 2]
Figures and their reading are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import CHANNEL, Newsroom
from bot.sandbox.pusher import PushServer
from bot.sandbox.serve import DEFAULT_TOKEN
from storage import Database, subscribers

ROOT = Path(__file__).resolve().parents[1]
# Twenty distinct invented events: the story dedup would rightly merge near-identical titles.
TITLES = [
    "حريق يأتي على مستودع للأخشاب بالمنطقة الصناعية",
    "انقطاع الماء الصالح للشرب عن ثلاثة أحياء حتى المساء",
    "توقف حركة القطارات بين المدينتين بسبب عطل تقني",
    "هزة أرضية خفيفة يشعر بها سكان الساحل دون خسائر",
    "إغلاق الطريق السيار مؤقتا إثر انقلاب شاحنة محملة بالرمال",
    "تعليق الدراسة غدا في المؤسسات التعليمية بالإقليم",
    "فيضان الوادي يعزل دواوير بالجماعة القروية",
    "إصابة عشرة أشخاص في اصطدام حافلة بسيارة أجرة",
    "انهيار منزل قديم بالمدينة العتيقة وإجلاء الجيران",
    "ارتفاع مفاجئ في أسعار المحروقات ابتداء من منتصف الليل",
    "المنتخب يتأهل إلى نصف نهائي البطولة القارية",
    "تأجيل مباراة الديربي بسبب الأحوال الجوية",
    "إنذار بعاصفة رعدية قوية في المرتفعات الليلة",
    "العثور على الطفل المفقود منذ يومين في صحة جيدة",
    "إطلاق سراح البحارة المحتجزين بعد مفاوضات طويلة",
    "تسرب غاز في مصنع للأسمدة وإخلاء العمال",
    "إلغاء رحلات جوية بالمطار بسبب الضباب الكثيف",
    "توقيف شبكة لتزوير الأوراق النقدية بالعاصمة",
    "البرلمان يصادق على قانون المالية في قراءة ثانية",
    "انطلاق عملية إحصاء السكان في الأقاليم الجنوبية",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def primed_and_listening(database: Path, push: PushServer) -> bool:
    try:
        with sqlite3.connect(database) as conn:
            row = conn.execute("SELECT primed FROM sources").fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0]) and push.subscribers(CHANNEL) > 0


async def measure(pushes: int, users: int, gap: float) -> list[float]:
    emulator = Emulator(DEFAULT_TOKEN)
    await emulator.start()
    push = PushServer()
    await push.start()
    site = Newsroom(push=push)
    await site.start()
    folder = Path(tempfile.mkdtemp(prefix="ajil-bench-push-"))
    config = folder / "config.toml"
    config.write_text(
        f"[telegram]\ntoken = '{DEFAULT_TOKEN}'\napi_url = '{emulator.api_url}'\n"
        "[http]\nenabled = false\n[logging]\nlevel = 'WARNING'\n"
        + site.push_source_toml(interval=3600),
        encoding="utf-8",
    )
    for user in range(1, users + 1):
        emulator.world.add_user(user, f"user{user}")
    db = await Database.open(folder / "ajil.db")
    await subscribers.add_many(db, [(u, "private", "ar") for u in range(1, users + 1)])
    await db.close()
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        env={**os.environ}, cwd=ROOT,
    )  # fmt: skip
    latencies: list[float] = []
    try:
        deadline = time.monotonic() + 60
        while not primed_and_listening(folder / "ajil.db", push):
            if time.monotonic() > deadline:
                raise SystemExit("the bot did not start listening within 60 s")
            await asyncio.sleep(0.1)
        for n in range(pushes):
            title = TITLES[n % len(TITLES)] + (f" ({n // len(TITLES) + 1})" if n >= 20 else "")
            story = site.publish_urgent(title=title)
            pushed_at = push.pushed[-1].at
            deadline = time.monotonic() + 30
            while True:
                arrivals = [
                    c.at for c in emulator.sends() if story.title in str(c.params.get("text"))
                ]
                if arrivals:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"no alert for push {n + 1} within 30 s")
                await asyncio.sleep(0.01)
            latencies.append(min(arrivals) - pushed_at)
            print(f"push {n + 1:2d}: first alert after {latencies[-1] * 1000:6.0f} ms", flush=True)
            await asyncio.sleep(gap)
    finally:
        bot.terminate()
        await bot.wait()
        await site.stop()
        await push.stop()
        await emulator.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between pushes")
    args = parser.parse_args()
    latencies = asyncio.run(measure(args.pushes, args.subscribers, args.gap))
    print(
        f"push to first alert over {len(latencies)} pushes: "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms (goal < 2000 ms)"
    )


if __name__ == "__main__":
    main()
