"""Several workers on one database: one leader at a time, a dead leader replaced within its
lease, a stale leader fenced off, claims put back only when their sender is gone, and what a
later update needs kept in the database. Two workers are two `Database` objects on one file;
leases run on injected clocks, nothing waits for a lease in real time. (Three real workers
and a SIGKILL: tests/test_failover.py.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.botapi import BotApiClient
from bot.alerts.fanout import FanOutWalker
from bot.alerts.sender import Sender
from bot.alerts.watcher import Watcher
from bot.app import run, sender_settings
from bot.config import Config, from_mapping, load
from bot.fleet import LeaderDuties, Leadership, gone_here, worker_id
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from storage import Database, fanout, leases, meta, notices, outbox, sessions, subscribers
from storage.models import DeliveryOutcome, DeliveryState, Priority
from tests.conftest import TOKEN
from tests.live import Live, primed, write_config
from tests.test_outbox_promises import _alert, _item, _source

T0 = 1_800_000_000  # epoch seconds
NOW = datetime.fromtimestamp(T0, UTC)


class Clock:
    def __init__(self, at: float = T0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


class Duties:
    """Records what the leadership asked of it."""

    def __init__(self) -> None:
        self.started: list[list[str]] = []
        self.stopped = 0
        self.running = False

    async def start(self, gone: Sequence[str]) -> None:
        self.started.append(list(gone))
        self.running = True

    async def stop(self) -> None:
        self.stopped += 1
        self.running = False

    def check(self) -> None:
        pass


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[None]:
    """`ajil run` in this process until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(config, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two workers' connections to one SQLite file."""
    first = await Database.open(tmp_path / "ajil.db")
    second = await Database.open(tmp_path / "ajil.db")
    yield first, second
    await second.close()
    await first.close()


async def until(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _states(db: Database) -> dict[int, tuple[str, str | None]]:
    rows = await db.reader.execute_fetchall("SELECT chat_id, state, claimed_by FROM deliveries")
    return {int(r[0]): (str(r[1]), r[2]) for r in rows}


async def _broadcast(db: Database, chats: Sequence[int], text: str = "تجربة") -> None:
    await subscribers.add_many(db, [(c, "private", "ar") for c in chats])
    notice = await notices.create(db, "broadcast", text)
    await outbox.enqueue_notice(db, notice, list(chats), Priority.NORMAL)


# -- the lease row ------------------------------------------------------------------------------


async def test_one_holder_at_a_time_until_its_lease_expires(two: tuple[Database, Database]) -> None:
    a, b = two
    first = await leases.acquire(a, leases.LEADER, "A", T0, 8)
    assert first is not None and first.previous is None and first.expires_at == T0 + 8
    assert await leases.acquire(b, leases.LEADER, "B", T0 + 1, 8) is None
    renewed = await leases.acquire(a, leases.LEADER, "A", T0 + 2, 8)
    assert renewed is not None and renewed.since == T0 and renewed.expires_at == T0 + 10
    assert await leases.acquire(b, leases.LEADER, "B", T0 + 9, 8) is None  # renewed: not yet
    taken = await leases.acquire(b, leases.LEADER, "B", T0 + 10, 8)
    assert taken is not None and taken.previous == "A" and taken.since == T0 + 10
    assert await leases.acquire(a, leases.LEADER, "A", T0 + 11, 8) is None
    assert await leases.holder(a, leases.LEADER, T0 + 11) == "B"


async def test_a_released_lease_is_taken_at_once(two: tuple[Database, Database]) -> None:
    a, b = two
    assert await leases.acquire(a, leases.LEADER, "A", T0, 8) is not None
    assert await leases.release(a, leases.LEADER, "A")
    taken = await leases.acquire(b, leases.LEADER, "B", T0 + 1, 8)
    assert taken is not None and taken.previous == "A"
    assert not await leases.release(a, leases.LEADER, "A")  # not A's any more


async def test_racing_workers_never_both_win(tmp_path: Path) -> None:
    path = tmp_path / "ajil.db"
    workers = [await Database.open(path) for _ in range(4)]
    try:
        won = await asyncio.gather(
            *(leases.acquire(db, leases.LEADER, f"w{n}", T0, 8) for n, db in enumerate(workers))
        )
        assert sum(lease is not None for lease in won) == 1
    finally:
        for db in workers:
            await db.close()


# -- leadership ---------------------------------------------------------------------------------


async def test_a_dead_leader_is_replaced_within_its_lease(two: tuple[Database, Database]) -> None:
    clock = Clock()
    a_duties, b_duties = Duties(), Duties()
    a = Leadership(two[0], a_duties, worker="A", clock=clock)
    b = Leadership(two[1], b_duties, worker="B", clock=clock)
    assert await a.step() == a.renew_every and a.leading and a_duties.running
    assert a_duties.started == [["A"]]  # nobody before: only its own earlier claims, if any
    await b.step()
    assert not b.leading and not b_duties.started
    # A renews while alive; B keeps trying every second and gets nothing.
    for _ in range(6):
        clock.at += 1
        await b.step()
        if clock.at % 2 == 0:
            await a.step()
    assert a.leading and not b.leading
    # A dies right after a renewal (at T0 + 6): B leads once the lease ends, never before.
    died = clock.at
    tried: list[float] = []
    while not b.leading:
        clock.at += b.try_every
        await b.step()
        tried.append(clock.at)
    took = clock.at - died
    assert took <= 10, f"took over after {took} s"
    assert took >= a.ttl - 1  # whole seconds: never before the lease has ended
    assert b_duties.started == [["A", "B"]]  # A's claims go back; B's own from before too
    # A was paused, not dead: its fence is already down, and its next renewal hands over.
    assert not a.valid()
    await a.step()
    assert not a.leading and a_duties.stopped == 1


async def test_a_leader_that_cannot_renew_stops_before_its_lease_can_pass(
    two: tuple[Database, Database],
) -> None:
    clock = Clock()
    a = Leadership(two[0], Duties(), worker="A", clock=clock)
    await a.step()
    lease_end = T0 + a.ttl
    clock.at = lease_end - a.margin - 0.01
    assert a.valid()
    clock.at = lease_end - a.margin
    assert not a.valid()  # stops acting `margin` seconds before another worker may take over
    assert await leases.acquire(two[1], leases.LEADER, "B", int(clock.at), 8) is None


async def test_duties_that_cannot_start_hand_the_lead_over(
    two: tuple[Database, Database],
) -> None:
    class Broken(Duties):
        async def start(self, gone: Sequence[str]) -> None:
            await super().start(gone)
            raise OSError("disk full")

    clock = Clock()
    broken = Broken()
    a = Leadership(two[0], broken, worker="A", clock=clock)
    await a.step()
    assert not a.leading and not a.valid() and broken.stopped == 1
    b = Leadership(two[1], Duties(), worker="B", clock=clock)
    await b.step()  # same second: A gave the lease up
    assert b.leading


async def test_a_clean_stop_hands_over_at_once(two: tuple[Database, Database]) -> None:
    clock = Clock()
    a_duties = Duties()
    a = Leadership(two[0], a_duties, worker="A", clock=clock)
    b = Leadership(two[1], Duties(), worker="B", clock=clock)
    stop = asyncio.Event()
    running = asyncio.create_task(a.run(stop))
    await until(lambda: a.leading)
    stop.set()
    await running
    assert a_duties.stopped == 1 and not a.leading
    await b.step()  # same second: no lease to wait out
    assert b.leading


async def test_a_crashed_worker_of_this_machine_is_not_waited_for(
    two: tuple[Database, Database],
) -> None:
    process = await asyncio.create_subprocess_exec("true")
    await process.wait()  # a pid that existed and is gone
    mine = worker_id()
    host, _, rest = mine.partition("/")
    _, _, tail = rest.partition("/")
    dead = f"{host}/{process.pid}/{tail}"
    assert gone_here(dead) and not gone_here(mine)
    assert not gone_here(f"elsewhere/{process.pid}/abc/other-machine")
    await leases.acquire(two[0], leases.LEADER, dead, T0, 8)
    clock = Clock(T0 + 1)
    b = Leadership(two[1], Duties(), clock=clock)
    await b.step()
    assert b.leading
    assert await leases.holder(two[1], leases.LEADER, T0 + 1) == b.worker


# -- claims -------------------------------------------------------------------------------------


async def test_claims_go_back_only_when_their_sender_is_gone(
    two: tuple[Database, Database],
) -> None:
    a, b = two
    await _broadcast(a, [1, 2, 3, 4, 5, 6])
    await outbox.claim_due(a, 2, NOW, worker="dead")
    await outbox.claim_due(a, 2, NOW, worker="alive")
    await outbox.claim_due(a, 1, NOW - timedelta(seconds=200), worker="old", claim_seconds=120)
    assert await outbox.requeue_claims(b, NOW, ["dead"]) == 3  # the dead's and the expired one
    states = await _states(b)
    assert [states[c] for c in (1, 2)] == [("pending", "dead")] * 2
    assert [states[c] for c in (3, 4)] == [("sending", "alive")] * 2
    assert states[5] == ("pending", "old") and states[6] == ("pending", None)


async def test_a_stale_leader_claims_nothing_and_its_late_results_change_nothing(
    two: tuple[Database, Database],
) -> None:
    a, b = two
    await _broadcast(a, [1, 2, 3])
    assert await leases.acquire(a, leases.LEADER, "A", T0, 8) is not None
    held = await outbox.claim_due(a, 1, NOW, worker="A", leader_only=True)
    assert [c.chat_id for c in held] == [1]
    # B takes over after A's lease, and takes A's claim back to send it itself.
    later = NOW + timedelta(seconds=9)
    assert await leases.acquire(b, leases.LEADER, "B", T0 + 9, 8) is not None
    assert await outbox.claim_due(a, 5, later, worker="A", leader_only=True) == []
    assert await outbox.requeue_claims(b, later, ["A"]) == 1
    mine = await outbox.claim_due(b, 5, later, worker="B", leader_only=True)
    assert sorted(c.chat_id for c in mine) == [1, 2, 3]
    # A wakes up and writes what it had: "put back" for its claim, which is B's now.
    await outbox.record_outcomes(
        a, [DeliveryOutcome(held[0].delivery_id, DeliveryState.PENDING, 0)], worker="A"
    )
    assert (await _states(b))[1] == ("sending", "B")
    await outbox.record_outcomes(
        b, [DeliveryOutcome(held[0].delivery_id, DeliveryState.SENT, 1)], worker="B"
    )
    assert (await _states(b))[1] == ("sent", "B")


async def test_a_fenced_sender_sends_nothing_until_its_lease_is_valid(
    tmp_path: Path, db: Database
) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    chats = [501, 502, 503]
    for chat in chats:
        emulator.world.add_user(chat, f"u{chat}")
    await _broadcast(db, chats)
    config = from_mapping(
        {"telegram": {"token": TOKEN, "api_url": emulator.api_url}}, tmp_path / "c.toml", {}
    )
    settings = sender_settings(config)
    client = BotApiClient(emulator.api_url, TOKEN, connections=settings.concurrency + 4)
    await client.start()
    valid = False
    sender = Sender(db, client, settings, worker="A")
    sender.fence_with(lambda: valid)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        # The lease is held in the database (claims succeed) but the fence is down.
        await leases.acquire(db, leases.LEADER, "A", int(datetime.now(UTC).timestamp()), 60)
        sender.wake()
        for _ in range(500):  # the sender claims (10 s at most)...
            if any(state == "sending" for state, _ in (await _states(db)).values()):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("nothing was claimed")
        await asyncio.sleep(0.3)  # ...and, fenced, sends none of it
        assert emulator.sends() == []
        valid = True
        sender.wake()
        await emulator.world.wait_for(lambda: len(emulator.sends()) == len(chats), 15)
    finally:
        stop.set()
        await asyncio.wait_for(running, 15)
        await client.close()
        await emulator.stop()
    assert sorted(int(c.params["chat_id"]) for c in emulator.sends()) == chats


class Jobs:
    """The little of PTB's JobQueue the leader's duties use: the names of the jobs made."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def get_jobs_by_name(self, name: str) -> list[object]:
        return []

    def run_repeating(self, callback: object, **kwargs: object) -> None:
        self.names.append(str(kwargs["name"]))


async def test_the_new_leader_walks_the_fan_outs_the_old_one_left(
    tmp_path: Path, db: Database, emulator: Emulator
) -> None:
    """The fan-out walker is a leader's duty: a worker that does not lead walks nothing; the
    one that takes the lead first carries on the fan-outs left unfinished, from their cursors,
    and stops walking when it stops leading."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 8)])
    item = await _item(db, source, 1)
    await _alert(db, item, source, batch=2)  # the old leader's poll: chats 1-2, then it died
    config = from_mapping(
        {"telegram": {"token": TOKEN, "api_url": emulator.api_url}}, tmp_path / "c.toml", {}
    )
    settings = sender_settings(config)
    client = BotApiClient(emulator.api_url, TOKEN, connections=settings.concurrency + 4)
    await client.start()
    fetcher = HttpFetcher(policy=FetchPolicy([]))
    sender = Sender(db, client, settings, worker="B")
    walker = FanOutWalker(db, config.schedule.zone, sender.wake, batch=2)
    jobs = Jobs()
    duties = LeaderDuties(jobs, Watcher(db, config, fetcher), sender, walker)
    leadership = Leadership(db, duties, worker="B")
    sender.fence_with(leadership.valid)
    walker.fence_with(leadership.worker, leadership.valid)
    now = int(datetime.now(UTC).timestamp())
    try:
        assert await leases.acquire(db, leases.LEADER, "A", now, 60) is not None
        await leadership.step()
        assert not leadership.leading
        await asyncio.sleep(0.2)
        assert await fanout.unfinished(db) == 1  # B follows: nothing walked
        await leases.release(db, leases.LEADER, "A")  # A's lease is over
        await leadership.step()
        assert leadership.leading and "digests" in jobs.names
        for _ in range(500):
            if await fanout.unfinished(db) == 0:
                break
            await asyncio.sleep(0.02)
        rows = await db.reader.execute_fetchall(
            "SELECT chat_id FROM deliveries WHERE item_id = ? ORDER BY chat_id", (item,)
        )
        assert [int(r[0]) for r in rows] == list(range(1, 8))
        duties.check()  # neither the sender nor the walker died
    finally:
        await duties.stop()
        await client.close()
        await fetcher.aclose()
    assert duties._tasks == []


# -- state a later update needs -----------------------------------------------------------------


async def test_the_last_list_is_shared_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ajil.db"
    a = await Database.open(path)
    b = await Database.open(path)
    await sessions.save_list(a, -100123, [7, 3, 9], T0)
    assert await sessions.last_list(b, -100123) == [7, 3, 9]
    await sessions.save_list(b, -100123, [4], T0 + 1)
    assert await sessions.last_list(a, -100123) == [4]
    assert await sessions.last_list(a, 42) == []
    await a.close()
    await b.close()
    again = await Database.open(path)
    try:
        assert await sessions.last_list(again, -100123) == [4]
    finally:
        await again.close()


async def test_the_command_pace_is_one_for_every_worker(two: tuple[Database, Database]) -> None:
    a, b = two
    user, ms = 777, T0 * 1000
    verdicts = [await sessions.pace_command((a, b)[n % 2], user, ms, 20) for n in range(20)]
    assert all(v.allowed and not v.warn for v in verdicts)
    over = await sessions.pace_command(a, user, ms, 20)
    assert not over.allowed and over.warn  # the 21st, on either worker, and one warning
    again = await sessions.pace_command(b, user, ms + 1000, 20)
    assert not again.allowed and not again.warn  # no second warning within the minute
    assert (await sessions.pace_command(b, user, ms + 3000, 20)).allowed  # one more per 3 s
    assert not (await sessions.pace_command(a, user, ms + 3001, 20)).allowed
    # An inline query cannot be told to slow down: it does not use up the minute's warning.
    assert not (await sessions.pace_command(a, user, ms + 61_000, 20, can_warn=False)).warn
    told = await sessions.pace_command(b, user, ms + 61_001, 20)
    assert told.allowed or told.warn
    assert (await sessions.pace_command(a, 778, ms, 20)).allowed  # another user: own pace


async def test_workers_starting_together_keep_one_webhook_secret(
    two: tuple[Database, Database],
) -> None:
    a, b = two
    kept = await asyncio.gather(meta.put_new(a, "k", "first"), meta.put_new(b, "k", "second"))
    assert kept[0] == kept[1] and await meta.get(a, "k") == kept[0]


async def test_summary_n_refers_to_the_list_shown_before_a_restart(tmp_path: Path) -> None:
    """/latest answered by one run, /summary 1 by the next: the list is not in memory."""
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    path = write_config(tmp_path, emulator, newsroom, sections="[http]\nport = 0\n")
    config = load(path, env={})
    live = Live(emulator, newsroom, config)
    user = live.user()
    try:
        async with running(config):
            for _ in range(300):
                if primed(config.storage.database):
                    break
                await asyncio.sleep(0.1)
            listing = await live.say(user, "/latest")
        async with running(config):
            answer = await live.settled(await live.say(user, "/summary 1", timeout=30), 30)
    finally:
        await newsroom.stop()
        await emulator.stop()
    # The summary of the first headline listed by the run before.
    heading = answer.text.splitlines()[0]
    assert "📝" in heading, answer.text
    title = heading.split("—", 1)[1].strip()
    assert title in listing.text.splitlines()[1]  # the line of headline 1
