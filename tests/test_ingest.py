"""Freshness and storage of what sources yield: first poll, age limit, re-listing, the ticker."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.news.backoff import CAP, retry_delay
from bot.news.ingest import Ingestor, fresh, select_new
from bot.news.models import Item
from bot.news.sources import PollResult
from storage import Database, items, sources
from storage.sources import SourceSpec

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
SIX_HOURS = timedelta(hours=6)


def item(n: int, minutes_ago: int | None = 5, **extra: object) -> Item:
    published = NOW - timedelta(minutes=minutes_ago) if minutes_ago is not None else None
    return Item(
        "site",
        extra.pop("title", f"خبر محلي رقم {n} عن موضوع مختلف {n * 7}"),  # type: ignore[arg-type]
        f"https://site.ma/{n}",
        published=published,
        **extra,  # type: ignore[arg-type]
    )


def test_select_new_rules() -> None:
    fresh, old, undated, known = item(1), item(2, 7 * 60), item(3, None), item(4)
    listed = [fresh, old, undated, known]
    assert select_new(listed, {known.uid}, primed=False, now=NOW, max_age=SIX_HOURS) == []
    assert select_new(listed, {known.uid}, True, NOW, SIX_HOURS) == [fresh, undated]


async def test_first_poll_primes_then_only_new_items_are_announced(db: Database) -> None:
    (state,) = await sources.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
    ingestor = Ingestor(db, SIX_HOURS, timedelta(hours=24))
    first = await ingestor.ingest(state, PollResult([item(1), item(2)], None), NOW)
    assert first == []  # recorded, not called new
    assert len(await items.latest(db, 10)) == 2

    state = await sources.get(db, "site")
    assert state is not None and state.primed
    # The feed re-lists and reorders the old items, adds one new and one too old.
    later = NOW + timedelta(minutes=2)
    result = PollResult([item(2), item(3), item(1), item(4, 8 * 60)], None)
    arrivals = await ingestor.ingest(state, result, later)
    assert [a.item.url for a in arrivals] == ["https://site.ma/3"]
    assert len(await items.latest(db, 10)) == 4  # the old one is stored for /latest


async def test_same_story_from_another_source_is_linked(db: Database) -> None:
    a, b = await sources.sync(
        db, [SourceSpec("a", "https://a.ma/", "rss"), SourceSpec("b", "https://b.ma/", "rss")]
    )
    ingestor = Ingestor(db, SIX_HOURS, timedelta(hours=24))
    await ingestor.ingest(a, PollResult([], None), NOW)
    await ingestor.ingest(b, PollResult([], None), NOW)
    a, b = (await sources.get(db, "a")), (await sources.get(db, "b"))
    assert a is not None and b is not None
    story = Item("a", "حريق مهول يأتي على سوق شعبي بمدينة فاس", "https://a.ma/1", NOW, True)
    again = Item("b", "حريق مهول يأتي على سوق شعبي بفاس", "https://b.ma/9", NOW, True)
    (first,) = await ingestor.ingest(a, PollResult([story], None), NOW)
    (second,) = await ingestor.ingest(b, PollResult([again], None), NOW + timedelta(minutes=3))
    assert not first.duplicate
    assert second.duplicate and second.story_id == first.item_id


async def test_a_stored_headline_entering_the_ticker_becomes_urgent(db: Database) -> None:
    (state,) = await sources.sync(db, [SourceSpec("site", "https://site.ma/", "auto")])
    ingestor = Ingestor(db, SIX_HOURS, timedelta(hours=24))
    await ingestor.ingest(state, PollResult([], None), NOW)
    state = await sources.get(db, "site")
    assert state is not None
    plain = item(1)
    (arrival,) = await ingestor.ingest(state, PollResult([plain], None), NOW)
    assert not arrival.urgent
    promoted = replace(plain, urgent=True, from_ticker=True)
    (again,) = await ingestor.ingest(state, PollResult([promoted], None), NOW)
    assert again.urgent and again.item_id == arrival.item_id
    # Listed again by the ticker: nothing more.
    assert await ingestor.ingest(state, PollResult([promoted], None), NOW) == []


async def test_validators_are_kept_and_failures_back_off(db: Database) -> None:
    from bot.news.fetch import Validators

    (state,) = await sources.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
    ingestor = Ingestor(db, SIX_HOURS, timedelta(hours=24))
    await ingestor.ingest(state, PollResult([], Validators('"e1"', "lm")), NOW)
    state = await sources.get(db, "site")
    assert state is not None and state.etag == '"e1"' and state.last_modified == "lm"
    # The n-th failure in a row waits 60 s x 2^(n-1), ±20 %: 48-72 s, 96-144 s, 192-288 s.
    for n, (least, most) in enumerate(((48, 72), (96, 144), (192, 288)), start=1):
        state = await ingestor.record_failure(state, "HTTP 500", timedelta(seconds=60), NOW)
        assert state.consecutive_failures == n and state.last_error == "HTTP 500"
        assert state.next_fetch_at is not None
        assert least <= (state.next_fetch_at - NOW).total_seconds() <= most
    assert state.failing_since == NOW


def test_backoff_grows_with_jitter_and_caps_at_an_hour() -> None:
    rng = random.Random(7)
    minute = timedelta(seconds=60)
    delays = [retry_delay(n, minute, rng) for n in range(1, 12)]
    assert timedelta(seconds=48) <= delays[0] <= timedelta(seconds=72)
    assert timedelta(seconds=192) <= delays[2] <= timedelta(seconds=288)
    assert all(d <= CAP for d in delays) and delays[-1] == CAP
    assert len({retry_delay(3, minute, rng) for _ in range(5)}) > 1  # jittered


def test_a_date_without_time_is_judged_by_the_end_of_its_day() -> None:
    zone = ZoneInfo("Africa/Casablanca")
    now = datetime(2026, 11, 29, 20, 0, tzinfo=zone)
    six = timedelta(hours=6)
    today = Item("s", "خبر اليوم بلا ساعة", "https://s.ma/1", datetime(2026, 11, 29, tzinfo=zone))
    yesterday = Item("s", "خبر الأمس", "https://s.ma/2", datetime(2026, 11, 28, tzinfo=zone))
    morning = Item("s", "خبر الصباح", "https://s.ma/3", datetime(2026, 11, 29, 8, tzinfo=zone))
    assert fresh(today, now, six)  # may be from 19:59 today
    assert not fresh(yesterday, now, six)
    assert not fresh(morning, now, six)  # a real time stands for itself
    # The limit itself is still fresh; a second more is not.
    edge = Item("s", "خبر على الحد", "https://s.ma/4", now - six)
    assert fresh(edge, now, six)
    assert not fresh(edge, now + timedelta(seconds=1), six)


async def test_one_story_listed_twice_in_one_poll_is_one_story(db: Database) -> None:
    ingestor = Ingestor(db, timedelta(hours=6), timedelta(hours=24))
    (state,) = await sources.sync(db, [SourceSpec("s", "https://s.ma/", "auto")])
    await ingestor.ingest(state, PollResult([], None), NOW)
    state = await sources.get(db, "s") or state
    title = "انقطاع التيار الكهربائي عن مدينة فاس بسبب عطل تقني"
    bar = Item("s", title, "https://s.ma/", urgent=True, from_ticker=True)  # a link-less entry
    feed = Item("s", title, None, NOW, urgent=True, guid="post-77")
    first, second = await ingestor.ingest(state, PollResult([bar, feed], None), NOW)
    assert first.story_id is None and second.story_id == first.item_id
    assert second.duplicate
    listed = await items.latest(db, 10)
    assert [i.id for i in listed] == [first.item_id]  # /latest shows the story once


async def test_a_restart_remembers_the_stories_of_the_dedup_window(db: Database) -> None:
    """The story index lives in memory: a restarted Ingestor loads the headlines stored in the
    last `dedup_window` (storage's recent_titles), each under its own story, so a rewording
    after a restart is no new alert. Loaded headlines count from the restart (they are not
    reloaded at each poll), and one seen over a window ago starts a new story."""
    a, b = await sources.sync(
        db, [SourceSpec("a", "https://a.ma/", "rss"), SourceSpec("b", "https://b.ma/", "rss")]
    )
    day = timedelta(hours=24)
    before = Ingestor(db, SIX_HOURS, day)
    await before.ingest(a, PollResult([], None), NOW)
    await before.ingest(b, PollResult([], None), NOW)
    a, b = (await sources.get(db, "a")), (await sources.get(db, "b"))
    assert a is not None and b is not None
    story = Item("a", "حريق مهول يأتي على سوق شعبي بمدينة فاس", "https://a.ma/1", NOW, True)
    again = Item("b", "حريق مهول يأتي على سوق شعبي بفاس", "https://b.ma/2", NOW, True)
    (first,) = await before.ingest(a, PollResult([story], None), NOW)
    (second,) = await before.ingest(b, PollResult([again], None), NOW)
    assert second.story_id == first.item_id

    # A restart an hour later: the same title from another site is the first's story; a
    # rewording whose closest stored headline is the second is too.
    hour = NOW + timedelta(hours=1)
    after = Ingestor(db, SIX_HOURS, day)
    echo_item = Item("b", story.title, "https://b.ma/6", hour)
    (echo,) = await after.ingest(b, PollResult([echo_item], None), hour)
    assert echo.duplicate and echo.story_id == first.item_id
    third_item = Item("a", "حريق مهول يأتي على سوق شعبي بفاس صباح اليوم", "https://a.ma/3", hour)
    (third,) = await after.ingest(a, PollResult([third_item], None), hour)
    assert third.duplicate and third.story_id == first.item_id

    # Polls go on; 25.5 hours after the start the loaded headlines (counted from the restart)
    # and the third (seen an hour in) are over a day old: a rewording starts a new story.
    other = Item("b", "افتتاح معرض الكتاب بالرباط", "https://b.ma/4", NOW + timedelta(hours=24))
    await after.ingest(b, PollResult([other], None), NOW + timedelta(hours=24, minutes=30))
    late = NOW + timedelta(hours=25, minutes=30)
    fourth_item = Item("b", "حريق مهول يأتي على سوق شعبي بفاس صباح اليوم", "https://b.ma/5", late)
    (fourth,) = await after.ingest(b, PollResult([fourth_item], None), late)
    assert not fourth.duplicate and fourth.story_id is None
