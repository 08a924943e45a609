"""Polling spread over the fleet (bot.sharing, storage.members): the rendezvous rule gives every
source exactly one member, the same in every process, and moves only what must move; the poll
leases let one worker at a time poll a source whatever the members believe; a dead worker's
sources pass to the others once its leases expire; a story one worker stored is the same story
for another. Leases run on injected clocks, nothing waits in real time. (Real workers and a
SIGKILL: tests/test_spread_e2e.py.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.fanout import FanOutWalker
from bot.alerts.watcher import Watcher
from bot.config import from_mapping
from bot.news.fetch import HttpFetcher
from bot.news.ingest import Ingestor
from bot.news.models import Item
from bot.news.netguard import FetchPolicy
from bot.sandbox.newsroom import CASABLANCA, Newsroom
from bot.sharing import Sharing, owner, share
from storage import Database, fanout, members, subscribers
from storage import sources as source_store
from storage.sources import SourceSpec
from tests.test_outbox_promises import _alert, _item, _source

T0 = 1_800_000_000

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
fleets = st.lists(names, min_size=1, max_size=8, unique=True)
sources = st.lists(names, min_size=0, max_size=40, unique=True)


@given(sources, fleets, st.randoms())
def test_every_source_has_one_member_of_the_fleet_whatever_its_order(
    polled: list[str], fleet: list[str], rnd: Any
) -> None:
    shuffled = list(fleet)
    rnd.shuffle(shuffled)
    shares = share(polled, fleet)
    assert set(shares) == set(polled)
    assert set(shares.values()) <= set(fleet)
    # Every member computes the same owner, whatever order it read the fleet in.
    assert shares == share(polled, shuffled)


@given(sources, fleets, names)
def test_a_member_leaving_moves_only_its_own_sources(
    polled: list[str], fleet: list[str], leaving: str
) -> None:
    before = share(polled, sorted({*fleet, leaving}))
    after = share(polled, sorted(set(fleet) - {leaving}) or [leaving])
    for source in polled:
        if before[source] != leaving:
            assert after[source] == before[source]


@given(sources, fleets, names)
def test_a_member_joining_takes_sources_only_for_itself(
    polled: list[str], fleet: list[str], joining: str
) -> None:
    before = share(polled, fleet)
    after = share(polled, sorted({*fleet, joining}))
    for source in polled:
        assert after[source] in (before[source], joining)


def test_the_shares_are_even() -> None:
    counts = Counter(share([f"s{n}" for n in range(1000)], ["a/1", "b/2"]).values())
    assert sorted(counts) == ["a/1", "b/2"]
    assert all(400 <= n <= 600 for n in counts.values()), counts
    three = Counter(share([f"s{n}" for n in range(3000)], ["a", "b", "c"]).values())
    assert all(800 <= n <= 1200 for n in three.values()), three


def test_no_fleet_no_owner() -> None:
    with pytest.raises(ValueError, match="no member"):
        owner("s", [])


# -- the leases (both backends) -------------------------------------------------------------


async def test_a_poll_lease_is_held_by_one_worker_until_it_expires(db: Database) -> None:
    assert await members.hold(db, "a", ["s1", "s2"], T0, 8) == {"s1", "s2"}
    assert await members.hold(db, "b", ["s1", "s2", "s3"], T0 + 1, 8) == {"s3"}
    assert await members.hold(db, "a", ["s1"], T0 + 2, 8) == {"s1"}  # renewed: until T0 + 10
    # s2 was not renewed: it expires at T0 + 8 and passes then, not before.
    assert await members.hold(db, "b", ["s1", "s2"], T0 + 7, 8) == set()
    assert await members.hold(db, "b", ["s1", "s2"], T0 + 8, 8) == {"s2"}
    assert await members.pollers(db, T0 + 8) == {"s1": "a", "s2": "b", "s3": "b"}
    # A holder known to be dead loses its leases at once.
    assert await members.hold(db, "b", ["s1"], T0 + 8, 8, gone=["a"]) == {"s1"}
    await members.release(db, "b", ["s3"])
    assert await members.hold(db, "a", ["s3"], T0 + 8, 8) == {"s3"}
    # Releasing what another worker holds changes nothing.
    await members.release(db, "b", ["s3"])
    assert (await members.pollers(db, T0 + 9))["s3"] == "a"


async def test_many_sources_in_one_call(db: Database) -> None:
    many = [f"source {n}" for n in range(450)]  # more than one statement's rows
    assert await members.hold(db, "a", many, T0, 8) == set(many)
    assert await members.hold(db, "b", many, T0, 8) == set()
    await members.release(db, "a", many[:300])
    assert await members.hold(db, "b", many, T0, 8) == set(many[:300])


async def test_membership_expires_and_leaving_frees_the_sources(db: Database) -> None:
    assert await members.beat(db, "a", T0, 8) == ["a"]
    assert await members.beat(db, "b", T0 + 1, 8) == ["a", "b"]
    assert await members.beat(db, "b", T0 + 8, 8) == ["b"]  # a stopped renewing
    await members.hold(db, "b", ["s1"], T0 + 8, 8)
    await members.leave(db, "b")
    assert await members.beat(db, "a", T0 + 9, 8) == ["a"]
    assert await members.pollers(db, T0 + 9) == {}
    assert await members.hold(db, "a", ["s1"], T0 + 9, 8) == {"s1"}


# -- sharing between workers (both backends) --------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.at = float(T0)

    def __call__(self) -> float:
        return self.at


class Jobs:
    """What the watcher was asked to poll (schedule_polls/unschedule_polls)."""

    def __init__(self) -> None:
        self.polled: set[str] = set()
        self.soon: list[bool] = []

    def schedule_polls(self, job_queue: Any, names: Collection[str], soon: bool) -> None:
        assert not self.polled & set(names)
        self.polled |= set(names)
        self.soon.append(soon)

    def unschedule_polls(self, job_queue: Any, names: Collection[str]) -> None:
        self.polled -= set(names)

    async def settle(self, names: Collection[str]) -> None:
        return None


SOURCES = [f"s{n}" for n in range(60)]


def _fleet(db: Database, clock: Clock, *workers: str) -> dict[str, tuple[Sharing, Jobs]]:
    out = {}
    for worker in workers:
        jobs = Jobs()
        out[worker] = (Sharing(db, None, jobs, SOURCES, worker, clock=clock), jobs)
    return out


def _polling(fleet: dict[str, tuple[Sharing, Jobs]]) -> dict[str, list[str]]:
    """Who may poll each source now (by the fence), and has its job scheduled."""
    who: dict[str, list[str]] = {s: [] for s in SOURCES}
    for worker, (sharing, jobs) in fleet.items():
        for source in SOURCES:
            if sharing.may_poll(source):
                assert source in jobs.polled
                who[source].append(worker)
    return who


async def test_workers_split_the_sources_and_never_poll_one_twice(db: Database) -> None:
    clock = Clock()
    fleet = _fleet(db, clock, "a", "b", "c")
    a, _ = fleet["a"]
    await a.step()  # alone: every source
    assert all(w == ["a"] for w in _polling(fleet).values())
    # b and c join; at every step of every worker no source has two pollers.
    for _ in range(3):
        for worker in ("b", "c", "a"):
            clock.at += 0.5
            await fleet[worker][0].step()
            assert all(len(w) <= 1 for w in _polling(fleet).values())
    who = _polling(fleet)
    assert all(len(w) == 1 for w in who.values()), who
    assert {w[0] for w in who.values()} == {"a", "b", "c"}
    assert who == {s: [o] for s, o in share(SOURCES, ["a", "b", "c"]).items()}


async def test_a_dead_workers_sources_pass_to_the_others_within_its_lease(db: Database) -> None:
    clock = Clock()
    fleet = _fleet(db, clock, "a", "b")
    for _ in range(2):
        for sharing, _ in fleet.values():
            await sharing.step()
    b_had = [s for s, w in _polling(fleet).items() if w == ["b"]]
    assert b_had
    a, a_jobs = fleet["a"]
    # b dies (stops renewing): a takes nothing while b's leases last...
    died = clock.at
    for _ in range(3):  # at +2, +4 and +6 s
        clock.at += 2
        await a.step()
        assert not set(b_had) & a.held
    # ...and all of b's sources at its first step after they expire (8 s): within 10 s.
    clock.at = died + 8
    await a.step()
    assert set(b_had) <= a.held and set(SOURCES) == a_jobs.polled
    assert a_jobs.soon[-1] is True  # taken over: polled at once, not in the first seconds
    # b's fence closed 2 s before its leases could pass: it no longer polls what a took.
    b = fleet["b"][0]
    assert not any(b.may_poll(s) for s in b_had)


async def test_a_worker_cut_off_from_the_database_stops_polling_before_its_leases_pass(
    db: Database,
) -> None:
    clock = Clock()
    fleet = _fleet(db, clock, "a")
    a, jobs = fleet["a"]
    await a.step()
    assert a.may_poll("s1")
    await db.close()  # every statement fails from now on
    clock.at += 5
    await a.step()  # its lease still holds: it keeps polling
    assert a.may_poll("s1") and jobs.polled
    clock.at += 1  # 6 s after its last renewal: 2 s before another could take the leases
    assert not a.may_poll("s1")
    await a.step()
    assert jobs.polled == set() and a.held == set()


# -- the recent-stories index sees what other workers stored -----------------------------------


async def test_a_story_one_worker_stored_is_the_same_story_for_another(db: Database) -> None:
    now = datetime.fromtimestamp(T0, UTC)
    one, two = await source_store.sync(
        db,
        [
            SourceSpec("one", "http://127.0.0.1/1", "rss"),
            SourceSpec("two", "http://127.0.0.1/2", "rss"),
        ],
    )
    ingestors = [Ingestor(db, timedelta(hours=6), timedelta(hours=6)) for _ in range(2)]
    title = "زلزال بقوة خمس درجات يضرب إقليم الحوز صباح اليوم"

    def item(source: str, path: str, text: str) -> Item:
        return Item(source, text, f"http://127.0.0.1/{source}/{path}", published=now, urgent=True)

    # Both workers have read the index before (their first polls).
    await ingestors[0].store(one, [item("one", "0", "أمطار غزيرة مرتقبة بالشمال")], now)
    await ingestors[1].store(two, [item("two", "0", "افتتاح معرض الكتاب بالرباط")], now)
    first = await ingestors[0].store(one, [item("one", "1", title)], now + timedelta(minutes=1))
    later = now + timedelta(minutes=2)
    second = await ingestors[1].store(two, [item("two", "1", title + " حسب المعهد")], later)
    assert first[0].story_id is None
    assert second[0].story_id == first[0].item_id


# -- the watcher's fence --------------------------------------------------------------------


async def test_a_poll_whose_lease_passed_meanwhile_stores_nothing(
    db: Database, tmp_path: Path
) -> None:
    site = Newsroom()
    await site.start()
    config = from_mapping(
        {"sources": [{"name": "site", "url": f"{site.url}feed/", "kind": "rss"}]},
        tmp_path / "c.toml",
        {},
    )
    fetcher = HttpFetcher(policy=FetchPolicy(s.url for s in config.sources))
    try:
        await source_store.sync(db, [SourceSpec("site", f"{site.url}feed/", "rss")])
        watcher = Watcher(db, config, fetcher)
        answers: list[bool] = []
        fence = iter([True, False])  # held when the poll starts, gone when it would write

        async def may_poll(name: str) -> bool:
            answers.append(next(fence, False))
            return answers[-1]

        assert watcher.spread_out(may_poll) == {"site"}
        assert await watcher.poll("site") == []
        assert answers == [True, False] and len(site.requests) == 1  # fetched, not stored
        state = await source_store.get(db, "site")
        assert state is not None and not state.primed and state.etag is None
        assert (await db.reader.execute_fetchall("SELECT count(*) FROM items"))[0][0] == 0
        # Not held at all: not even fetched.
        assert await watcher.poll("site") == [] and len(site.requests) == 1
    finally:
        await fetcher.aclose()
        await site.stop()


async def test_the_leader_walks_a_fan_out_another_worker_started(db: Database) -> None:
    """A follower's poll writes an alert's first batch and cannot wake the leader's walker:
    the walker finds it by looking."""
    source = await _source(db)
    await subscribers.add_many(db, [(n, "private", "ar") for n in range(1, 8)])
    walker = FanOutWalker(db, CASABLANCA, batch=2, look_every=0.05)
    stop = asyncio.Event()
    walking = asyncio.create_task(walker.run(stop))
    try:
        await asyncio.sleep(0.1)  # the walker idles: nothing to walk
        item = await _item(db, source, 1)
        await _alert(db, item, source, batch=2)  # no wake()
        for _ in range(200):
            if not await fanout.unfinished(db):
                break
            await asyncio.sleep(0.05)
        assert await fanout.unfinished(db) == 0
        rows = await db.reader.execute_fetchall("SELECT count(*) FROM deliveries")
        assert rows[0][0] == 7
    finally:
        stop.set()
        await walking


async def test_a_poll_waits_for_a_late_renewal_rather_than_skipping(db: Database) -> None:
    """A renewal that waited behind a burst of polls' writes closes the fence for a moment:
    the polls then wait for the step under way instead of skipping a whole interval."""
    clock = Clock()
    fleet = _fleet(db, clock, "a")
    a, _ = fleet["a"]
    await a.step()
    clock.at += 7  # the renewal due at +2 s was held up: the fence closed at +6 s
    assert not a.may_poll("s1")
    waiting = asyncio.create_task(a.ready("s1"))
    await asyncio.sleep(0)
    assert not waiting.done()
    await a.step()
    assert await waiting is True
    # A source the worker does not hold is refused at once, without waiting.
    assert await a.ready("not a source") is False


async def test_a_poll_waiting_for_a_renewal_is_let_go_when_its_source_is(db: Database) -> None:
    """A source given up while its poll waits for the fence: the poll is refused, and giving
    the source up (which waits for its poll to end) does not wait for itself."""
    clock = Clock()
    polls: dict[str, asyncio.Lock] = {}

    class Settling(Jobs):
        async def settle(self, names: Collection[str]) -> None:
            for name in names:
                async with polls.setdefault(name, asyncio.Lock()):
                    pass

    jobs = Settling()
    a = Sharing(db, None, jobs, SOURCES, "a", clock=clock)
    await a.step()
    clock.at += 7  # the fence closed

    async def poll(name: str) -> bool:
        async with polls.setdefault(name, asyncio.Lock()):
            return await a.ready(name)

    leaving = next(s for s in SOURCES if owner(s, ["a", "b"]) == "b")
    waiting = asyncio.create_task(poll(leaving))
    await asyncio.sleep(0)
    assert not waiting.done()
    await members.beat(db, "b", int(clock.at), 8)  # b joins: a gives up b's share
    await asyncio.wait_for(a.step(), 10)  # (a step that waited for itself would hang)
    assert await waiting is False
    assert leaving not in a.held and a.may_poll(next(iter(a.held)))
