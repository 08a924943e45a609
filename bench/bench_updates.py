"""Updates per second a fleet of one or two webhook workers answers (issue 16, point 6).

Real `ajil run` processes in webhook mode behind the sandbox's load balancer (a process of its
own, standing in for nginx), the Bot API emulator here (the bot's answers arrive there), and the
load from a second process (bench/webhook_load.py), open loop: at each offered rate the planned
updates are POSTed on time whatever the fleet's backlog, each from a user of its own (so that
the per-user limit of 20 a minute never applies), with Telegram's secret header:
  40 % settings buttons (alert level, language, quiet hours off): an upsert of
       the chat's record, the setting written, the keyboard edited (editMessageText);
  30 % the "more" button under /latest 10 (more:a:10:10): the next 10 headlines sent
       (sendMessage), kept for /summary N;
  30 % /latest: 5 headlines of 2,000 sent (sendMessage), kept for /summary N.
Every update also goes through the per-user limit (one upsert). An update counts as answered
when its answer (editMessageText or sendMessage) reaches the emulator; its latency runs from
the POST to that answer; a button's answerCallbackQuery is timed too.

Run: python -m bench.bench_updates [--backends sqlite,postgresql] [--workers 1,2]
                                   [--rates 25,50,100,200] [--seconds 20] [--count 3000]
                                   [--pg-params synchronous_commit=off] [--storage-only]
--storage-only runs the mix's storage calls alone (no Telegram, no HTTP), 32 at once in each
of 1 or 2 processes (--workers), to tell the write path's share from the rest.
Bounded: each step sends at most --count updates in at most --seconds, then waits for the
answers while they keep coming (at most 240 s; an update unanswered 20 s after the last answer
is counted as lost). Loopback only. PostgreSQL: a scratch database on
postgresql://postgres@127.0.0.1:5432 (AJIL_BENCH_PG to change the server), dropped after.
Figures and their reading: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bot.actions import ChatRef, change_settings, chat_record
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from bot.sandbox.serve import DEFAULT_TOKEN
from bot.sandbox.world import SentMessage, command_entities
from storage import Database, items, sessions, sources, subscribers
from storage.models import NewItem
from storage.sources import SourceSpec

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-updates-secret"
ITEMS = 2_000
PG_SERVER = os.environ.get("AJIL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
SETTINGS_PRESSES = ("set:level:all", "set:lang:ar", "set:level:urgent", "set:quiet:off")
DRAIN_S = 240
STALL_S = 20
TICK = os.sysconf("SC_CLK_TCK")
FIRST_USERS = itertools.count(10_000_000, 100_000)  # each step's users are new users


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat, fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


async def backend_pids(database: str) -> list[int]:
    """The PostgreSQL server processes serving `database` (the workers' pools)."""
    if not database.startswith("postgresql://"):
        return []
    name = database.rsplit("/", 1)[1].split("?", 1)[0]
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres", timeout=10)
    try:
        rows = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await admin.close()
    return [int(row["pid"]) for row in rows]


@dataclass
class Step:
    """One offered rate's outcome."""

    backend: str
    workers: int
    offered: float
    sent: int
    refused: int  # POSTs the webhook did not answer 200
    answered: int
    per_second: float
    p50: float
    p95: float
    ack_p50: float  # callback queries: answerCallbackQuery
    errors: Counter[str]
    cpu: list[float]  # per worker, % of one core over the step
    cpu_ms: float  # the workers' CPU per answered update, milliseconds
    cpu_other: dict[str, float]
    lead_changes: int  # leadership taken or lost during the step (the workers' logs)
    load: float  # the machine's load average over the last minute, at the step's end


class Plan:
    """The updates of one step: users, their chats and the bot's messages they press under."""

    def __init__(self, emulator: Emulator, first_user: int) -> None:
        self.world = emulator.world
        self.next_user = first_user
        self.next_update = first_user * 10
        self.kinds: dict[int, str] = {}  # update_id -> settings, more or latest
        self.users: dict[int, int] = {}  # update_id -> user (one update per user)
        self.callbacks: dict[str, int] = {}  # callback_query id -> update_id

    def update(self, n: int) -> dict[str, Any]:
        user_id = self.next_user
        self.next_user += 1
        self.next_update += 1
        update_id = self.next_update
        user = self.world.add_user(user_id, f"u{user_id}", language_code="ar")
        chat = self.world.chats[user_id]
        self.users[update_id] = user_id
        slot = n % 10
        if slot >= 7:
            self.kinds[update_id] = "latest"
            message = SentMessage(
                self.world.new_message_id(),
                user_id,
                int(time.time()),
                user,
                "/latest",
                entities=command_entities("/latest"),
            )
            self.world.record(message)
            return {"update_id": update_id, "message": message.to_api(chat)}
        data = SETTINGS_PRESSES[n % len(SETTINGS_PRESSES)] if slot < 4 else "more:a:10:10"
        self.kinds[update_id] = "settings" if slot < 4 else "more"
        # The bot's message whose button is pressed: a settings keyboard or a /latest page.
        shown = SentMessage(
            self.world.new_message_id(),
            user_id,
            int(time.time()) - 30,
            self.world.bot,
            "…",
            reply_markup={"inline_keyboard": [[{"text": "⚙️", "callback_data": data}]]},
        )
        self.world.record(shown)
        query_id = f"{update_id}7"
        self.callbacks[query_id] = update_id
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": shown.to_api(chat),
            "chat_instance": str(user_id * 31 + 17),
            "data": data,
        }
        return {"update_id": update_id, "callback_query": query}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


class Fleet:
    """N `ajil run` workers in webhook mode behind the balancer's process, on one database."""

    def __init__(self, folder: Path, database: str, workers: int) -> None:
        self.folder, self.database, self.count = folder, database, workers
        self.ports = [free_port() for _ in range(workers)]
        self.processes: list[subprocess.Popen[bytes]] = []
        self.balancer: subprocess.Popen[str] | None = None
        self.url = ""

    async def start(self, emulator: Emulator, news: Newsroom) -> None:
        self.balancer = start_balancer(self.ports)
        assert self.balancer.stdout is not None
        self.url = (await asyncio.to_thread(self.balancer.stdout.readline)).strip()
        for n, port in enumerate(self.ports):
            config = self.folder / f"worker{n}.toml"
            config.write_text(
                f"[telegram]\ntoken = '{DEFAULT_TOKEN}'\napi_url = '{emulator.api_url}'\n"
                f"[telegram.webhook]\nurl = '{self.url}'\nport = {port}\n"
                f"secret_token = '{SECRET}'\n"
                f"[storage]\ndatabase = '{self.database}'\n"
                "[http]\nport = 0\n"
                f"[[sources]]\nname = 'site'\nurl = '{news.url}'\ninterval = 3600\n",
                encoding="utf-8",
            )
            self.processes.append(start_worker(config, self.folder / f"worker{n}.log"))
        deadline = time.monotonic() + 60
        for port in self.ports:
            while not await listening(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no worker listening on {port}: {self.logs()}")
                await asyncio.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:] for path in sorted(self.folder.glob("*.log"))
        )

    def lead_changes(self) -> int:
        """Times a worker took or lost the lead, by the workers' logs so far."""
        return sum(
            1
            for path in self.folder.glob("*.log")
            for line in path.read_text(errors="replace").splitlines()
            if "leadership:" in line and (" leads (after " in line or " stops leading" in line)
        )

    def errors_logged(self) -> list[str]:
        return [
            line
            for path in sorted(self.folder.glob("*.log"))
            for line in path.read_text(errors="replace").splitlines()
            if " ERROR " in line or "Traceback" in line or " WARNING " in line
        ]

    async def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            await asyncio.to_thread(process.wait, 30)
        if self.balancer is not None:
            self.balancer.send_signal(signal.SIGTERM)
            await asyncio.to_thread(self.balancer.wait, 10)


def start_balancer(ports: list[int]) -> subprocess.Popen[str]:
    """The balancer's process; it prints its URL on its first line."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_load", "balance", *map(str, ports)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`ajil run` with `config`, its log (stderr) in `log`."""
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=ROOT,
        )


async def listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def step(
    emulator: Emulator, fleet: Fleet, backend: str, rate: float, seconds: float, count: int
) -> Step:
    plan = Plan(emulator, first_user=next(FIRST_USERS))
    total = min(count, int(rate * seconds))
    updates = [[n / rate, plan.update(n)] for n in range(total)]
    folder = fleet.folder
    (folder / "plan.json").write_text(
        json.dumps({"url": fleet.url, "secret": SECRET, "limit_s": seconds, "updates": updates}),
        encoding="utf-8",
    )
    first_call = len(emulator.calls)
    leads_before = fleet.lead_changes()
    pids = [p.pid for p in fleet.processes]
    before = [cpu_seconds(pid) for pid in pids]
    assert fleet.balancer is not None
    others = {"emulator": os.getpid(), "balancer": fleet.balancer.pid}
    others_before = {name: cpu_seconds(pid) for name, pid in others.items()}
    pg_before = {pid: cpu_seconds(pid) for pid in await backend_pids(fleet.database)}
    started = time.monotonic()
    generator = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.webhook_load",
        "send",
        str(folder / "plan.json"),
        str(folder / "result.json"),
        cwd=ROOT,
    )
    others["load"] = generator.pid
    others_before["load"] = 0.0
    load_cpu = 0.0
    while generator.returncode is None:
        load_cpu = max(load_cpu, cpu_seconds(generator.pid))
        try:
            await asyncio.wait_for(generator.wait(), 0.5)
        except TimeoutError:
            continue
    posted = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    wanted = {int(u) for u, _, status, _ in posted if status == 200}
    by_user = {plan.users[u]: u for u in wanted}

    def answers() -> dict[int, float]:
        found: dict[int, float] = {}
        for call in emulator.calls[first_call:]:
            if call.method in ("sendMessage", "editMessageText") and call.error is None:
                update_id = by_user.get(int(call.params.get("chat_id") or 0))
                if update_id is not None and update_id not in found:
                    found[update_id] = call.at
        return found

    # The backlog is drained while answers keep coming: until every update is answered, or
    # none was for STALL_S (lost), or DRAIN_S passed. Polling the emulator's log: the answers
    # come from other processes, there is nothing here to wait on.
    drain_until = time.monotonic() + DRAIN_S
    progress, progress_at = -1, time.monotonic()
    while (count := len(answers())) < len(wanted) and time.monotonic() < drain_until:
        if count > progress:
            progress, progress_at = count, time.monotonic()
        elif time.monotonic() - progress_at > STALL_S:
            break
        await asyncio.sleep(1.0)
    elapsed = time.monotonic() - started
    used = [cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True)]
    cpu = [100 * u / elapsed for u in used]
    cpu_other = {
        name: 100 * (cpu_seconds(pid) - others_before[name]) / elapsed
        for name, pid in others.items()
        if name != "load"
    }
    cpu_other["load"] = 100 * load_cpu / elapsed
    if backend == "postgresql":
        served = await backend_pids(fleet.database)
        spent = sum(cpu_seconds(pid) - pg_before.get(pid, 0.0) for pid in served)
        cpu_other["postgres"] = 100 * spent / elapsed
    found = answers()
    sent_at = {int(u): float(at) for u, at, _, _ in posted}
    latencies = [found[u] - sent_at[u] for u in found]
    acks = [
        call.at - sent_at[plan.callbacks[str(call.params.get("callback_query_id"))]]
        for call in emulator.calls[first_call:]
        if call.method == "answerCallbackQuery"
        and str(call.params.get("callback_query_id")) in plan.callbacks
        and plan.callbacks[str(call.params.get("callback_query_id"))] in sent_at
    ]
    errors: Counter[str] = Counter(
        f"{c.method} {c.error}" for c in emulator.calls[first_call:] if c.error is not None
    )
    span = (max(found.values()) - min(sent_at.values())) if found else float("nan")
    return Step(
        backend=backend,
        workers=fleet.count,
        offered=rate,
        sent=len(posted),
        refused=len(posted) - len(wanted),
        answered=len(found),
        per_second=len(found) / span if found else 0.0,
        p50=statistics.median(latencies) if latencies else float("nan"),
        p95=percentile(latencies, 0.95),
        ack_p50=statistics.median(acks) if acks else float("nan"),
        errors=errors,
        cpu=cpu,
        cpu_ms=1000 * sum(used) / len(found) if found else float("nan"),
        cpu_other=cpu_other,
        lead_changes=fleet.lead_changes() - leads_before,
        load=os.getloadavg()[0],
    )


async def seed(database: str, site: str) -> None:
    """The configured source with ITEMS headlines, so that /latest and "more" have pages."""
    db = await Database.open(database)
    try:
        (state,) = await sources.sync(db, [SourceSpec("site", site, "auto")])
        now = datetime.now(UTC)
        await items.insert_many(
            db,
            [
                NewItem(
                    uid=f"{site}bench/{n}",
                    source_id=state.id,
                    url=f"{site}bench/{n}",
                    title=f"عنوان الخبر رقم {n} في موقع المدينة",
                    normalized_title=f"عنوان الخبر رقم {n} في موقع المدينة",
                    published_at=now - timedelta(seconds=60 * n),
                    fetched_at=now,
                    urgent=n % 10 == 0,
                )
                for n in range(ITEMS)
            ],
        )
    finally:
        await db.close()


async def scratch_database() -> tuple[str, str]:
    name = f"ajil_bench_updates_{os.getpid()}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres", timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, f"{PG_SERVER}/{name}"


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres", timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def configuration(
    backend: str, workers: int, rates: list[float], seconds: float, count: int, pg_params: str
) -> list[Step]:
    emulator = Emulator(DEFAULT_TOKEN)
    await emulator.start()
    news = Newsroom()
    await news.start()
    pg_name = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if backend == "postgresql":
            pg_name, database = await scratch_database()
        else:
            database = str(folder / "ajil.db")
        if pg_name is not None and pg_params:
            database = f"{database}?{pg_params}"
        fleet = Fleet(folder, database, workers)
        results = []
        try:
            await seed(database, news.url)
            await fleet.start(emulator, news)
            await asyncio.sleep(3)  # the leader's first poll of the site
            await step(emulator, fleet, backend, 10, 3, 30)  # warm-up, not reported
            for rate in rates:
                done = await step(emulator, fleet, backend, rate, seconds, count)
                results.append(done)
                show(done)
            logged = fleet.errors_logged()
            if logged:
                print(f"  {len(logged)} warnings/errors in the workers' logs; the first ones:")
                for line in logged[:8]:
                    print("   ", line[:300])
        finally:
            await fleet.stop()
            await news.stop()
            await emulator.stop()
            if pg_name is not None:
                await drop_database(pg_name)
    return results


async def storage_worker(database: str, first_user: int, count: int) -> float:
    """The mix's storage calls alone, as the handlers make them, 32 updates at once (PTB's
    slots) in this process: updates per second. No Telegram, no HTTP: the write path's share."""
    db = await Database.open(database)
    slots = asyncio.Semaphore(32)

    async def one(n: int) -> None:
        user = first_user + n
        chat = ChatRef(user, "private", None, "ar")
        async with slots:
            await sessions.pace_command(db, user, int(time.time() * 1000), 20)  # the guard
            if n % 10 < 4:  # a settings button
                await chat_record(db, chat)
                await change_settings(db, chat, alert_level="all")
                await subscribers.keywords(db, user)
            else:  # /latest or "more": language_for, the listing, the list kept
                await subscribers.get(db, user)
                await items.latest(db, limit=11 if n % 10 < 7 else 6)
                await sessions.save_list(db, user, list(range(10)), int(time.time()))

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    elapsed = time.perf_counter() - started
    await db.close()
    return count / elapsed


async def storage_path(backend: str, processes: list[int], count: int, pg_params: str) -> None:
    """The storage calls alone in 1 or 2 processes on one database (`--storage-only`)."""
    pg_name = None
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "postgresql":
            pg_name, database = await scratch_database()
        else:
            database = str(Path(tmp) / "ajil.db")
        if pg_name is not None and pg_params:
            database = f"{database}?{pg_params}"
        try:
            news_url = "http://127.0.0.1:9/"  # never fetched: the source only names the items
            await seed(database, news_url)
            for n in processes:
                runs = [
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bench.bench_updates",
                        "--storage-worker",
                        database,
                        str(next(FIRST_USERS)),
                        str(count),
                        stdout=asyncio.subprocess.PIPE,
                        cwd=ROOT,
                    )
                    for _ in range(n)
                ]
                rates = [float((await run.communicate())[0]) for run in runs]
                print(
                    f"{backend:10} storage calls only, {n} process(es), 32 updates at once each:"
                    f" {' + '.join(f'{r:.0f}' for r in rates)} = {sum(rates):.0f} updates/s;"
                    f" load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        finally:
            if pg_name is not None:
                await drop_database(pg_name)


def show(s: Step) -> None:
    errors = ", ".join(f"{k} ×{v}" for k, v in s.errors.most_common()) or "none"
    cpu = " + ".join(f"{c:.0f}" for c in s.cpu)
    other = ", ".join(f"{k} {v:.0f}" for k, v in s.cpu_other.items())
    print(
        f"{s.backend:10} {s.workers} worker(s) offered {s.offered:5.0f}/s: sent {s.sent},"
        f" answered {s.answered} ({s.sent - s.refused - s.answered} unanswered, {s.refused}"
        f" refused) at {s.per_second:6.1f}/s; latency p50 {s.p50 * 1000:6.0f} ms,"
        f" p95 {s.p95 * 1000:6.0f} ms; button ack p50 {s.ack_p50 * 1000:5.0f} ms;"
        f" CPU % workers {cpu} ({s.cpu_ms:.1f} ms an update); {other}; Bot API errors: {errors};"
        f" leadership taken or lost {s.lead_changes} times; load average {s.load:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--rates", default="25,50,100,200")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument(
        "--pg-params", default="", help="server settings for the workers' URL, a=b&c=d"
    )
    parser.add_argument(
        "--storage-only", action="store_true", help="the mix's storage calls alone, no Telegram"
    )
    parser.add_argument("--storage-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.storage_worker:
        database, first, count = args.storage_worker
        print(asyncio.run(storage_worker(database, int(first), int(count))))
        return
    rates = [float(r) for r in args.rates.split(",")]
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f} before the run", flush=True)
    for backend in args.backends.split(","):
        if args.storage_only:
            processes = [int(w) for w in args.workers.split(",")]
            asyncio.run(storage_path(backend, processes, args.count, args.pg_params))
            continue
        for workers in (int(w) for w in args.workers.split(",")):
            asyncio.run(
                configuration(backend, workers, rates, args.seconds, args.count, args.pg_params)
            )


if __name__ == "__main__":
    main()
