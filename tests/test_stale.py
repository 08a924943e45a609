"""Stale items never alert: an undated urgent item is dated by its URL or its page first; a
stored headline that enters an urgent block long after it was first seen, and an undated item
listed below stored ones, are not breaking; a date in the future is clamped when stored."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.watcher import Watcher
from bot.config import Config
from bot.news.fetch import Fetched, HttpFetcher, Validators
from bot.news.freshness import date_from_url, day_from_url
from bot.news.ingest import Ingestor, select_new
from bot.news.models import Item
from bot.news.sources import PollResult, SourcePoller, SourceSettings
from bot.news.text import normalize
from storage import Database, items
from storage import sources as source_store
from storage.models import SourceState
from storage.sources import SourceSpec
from tests import wild

ZONE = ZoneInfo("Africa/Casablanca")
SIX_HOURS = timedelta(hours=6)
TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://s.ma/2019/05/12/old-story/", datetime(2019, 5, 12, 23, 59, 59, tzinfo=ZONE)),
        ("https://s.ma/2019/05/old-story", datetime(2019, 5, 31, 23, 59, 59, tzinfo=ZONE)),
        ("https://s.ma/ar/2019/5/", datetime(2019, 5, 31, 23, 59, 59, tzinfo=ZONE)),
        ("https://s.ma/news/hariq-2019-05-12-souq", datetime(2019, 5, 12, 23, 59, 59, tzinfo=ZONE)),
        ("https://s.ma/news/2020_02_29_x.html", datetime(2020, 2, 29, 23, 59, 59, tzinfo=ZONE)),
        # An Arabic slug, percent-encoded, with the date in it.
        (
            "https://s.ma/%D8%AD%D8%B1%D9%8A%D9%82-2021-07-30",
            datetime(2021, 7, 30, 23, 59, 59, tzinfo=ZONE),
        ),
        # A section between the year and the month and day (CNN Arabic).
        ("https://s.ma/2013/middle_east/8/3/x/", datetime(2013, 8, 3, 23, 59, 59, tzinfo=ZONE)),
        ("https://s.ma/2013/middle_east/8/12345", None),  # an id after the month, no day
        ("https://s.ma/?p=2019", None),  # a post id, not a date
        ("https://s.ma/archives/20190512", None),  # digits without separators: an id
        ("https://s.ma/news/331535", None),
        ("https://s.ma/2019/13/01/x", None),  # no 13th month
        ("https://s.ma/2019/02/30/x", None),  # no 30 February: not a date at all
        ("https://s.ma/1990/05/12/x", None),  # before news sites wrote dates in URLs
        ("https://s.ma/2031/01/01/x", None),  # after today: not a publication date
        ("https://s.ma/img/1200-2019-05-120x80.jpg", None),  # digits around: part of a number
        ("https://s.ma/news/2019-02-30-x", None),  # no 30 February in a slug either
        # The edges: 1995 is the first year read; the site's today may be our tomorrow (TODAY
        # + 1 day is read, in a slug and in segments), the day after is not a date of news.
        ("https://s.ma/1995/05/12/x", datetime(1995, 5, 12, 23, 59, 59, tzinfo=ZONE)),
        ("https://s.ma/1994/05/12/x", None),
        ("https://s.ma/news/x-2026-11-30", datetime(2026, 11, 30, 23, 59, 59, tzinfo=ZONE)),
        ("https://s.ma/2026/11/30/x", datetime(2026, 11, 30, 23, 59, 59, tzinfo=ZONE)),
        ("https://s.ma/news/x-2026-12-01", None),
        ("https://s.ma/2026/12/01/x", None),
        (None, None),
    ],
)
def test_dates_in_urls(url: str | None, expected: datetime | None) -> None:
    assert date_from_url(url, ZONE, TODAY) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://s.ma/2013/middle_east/8/3/x/index.html", datetime(2013, 8, 3, tzinfo=ZONE)),
        ("https://s.ma/2019/05/12/x", datetime(2019, 5, 12, tzinfo=ZONE)),
        ("https://s.ma/2019/05/x", None),  # a month is no day
        ("https://s.ma/2019/02/30/x", None),
        ("https://s.ma/news/331535", None),
    ],
)
def test_the_day_a_pages_address_names(url: str, expected: datetime | None) -> None:
    assert day_from_url(url, ZONE) == expected


def test_a_story_of_today_is_never_old_by_its_url() -> None:
    end = date_from_url("https://s.ma/2026/11/29/x", ZONE, TODAY)
    assert end is not None and end.date() == TODAY and end.hour == 23


def _config(url: str) -> Config:
    return Config.model_validate(
        {
            "news": {"freshness_hours": 6},
            "sources": [{"name": "site", "url": url, "kind": "html", "interval": 60}],
        }
    )


async def test_stale_ticker_items_are_stored_not_alerted(
    sites: wild.Wild, fetcher: HttpFetcher, db: Database
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config = _config(f"{sites.base}/news/")
    await source_store.sync(db, [SourceSpec("site", config.sources[0].url, "html")])
    watcher = Watcher(db, config, fetcher, clock=lambda: now)
    await watcher.poll("site")  # the first poll records what is there

    sites.urgent = [
        ("/2019/05/12/old-fire", "حريق قديم في سوق الجملة يعود إلى الواجهة"),  # by its URL
        ("/article/old-page", "خبر قديم تعرضه شريطة الأخبار مرة أخرى"),  # by its page
        ("/article/new-page", "زلزال خفيف يضرب المنطقة دون خسائر"),
        ("/article/no-date", "اجتماع طارئ لمجلس الجهة هذا المساء"),
    ]
    sites.article_dates = {
        "/article/old-page": now - timedelta(days=400),
        "/article/new-page": now - timedelta(minutes=10),
    }
    arrivals = await watcher.poll("site")
    # Fresh by its page, and undatable (unknown age is not proof of age): alerted.
    assert sorted(a.item.title for a in arrivals if a.urgent) == sorted(
        ["زلزال خفيف يضرب المنطقة دون خسائر", "اجتماع طارئ لمجلس الجهة هذا المساء"]
    )
    # Each page was read once; the URL-dated item needed no page.
    assert sites.article_hits == {
        "/article/old-page": 1,
        "/article/new-page": 1,
        "/article/no-date": 1,
    }
    # All stored, urgent as the site says, for /latest and /urgent.
    stored = {i.title for i in await items.latest(db, 20, urgent_only=True)}
    assert {t for _, t in sites.urgent} <= stored
    # Nothing is dated twice: the next poll fetches no page.
    assert await watcher.poll("site") == []
    assert sum(sites.article_hits.values()) == 3


async def test_a_page_that_cannot_be_read_does_not_hold_the_alert(
    sites: wild.Wild, fetcher: HttpFetcher, db: Database
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    (state,) = await source_store.sync(db, [SourceSpec("site", f"{sites.base}/news/", "html")])
    ingestor = Ingestor(db, SIX_HOURS, timedelta(hours=24))
    await ingestor.ingest(state, PollResult([], None), now)
    state = await source_store.get(db, "site")
    assert state is not None
    gone = Item("site", "انهيار منزل قديم بالمدينة العتيقة", "http://127.0.0.1:9/x", urgent=True)
    poller = SourcePoller(SourceSettings("site", f"{sites.base}/news/", "html", ZONE), fetcher)
    result = PollResult([gone], None)
    assert await ingestor.date_urgent(state, result, now, poller.read_published) == {}
    (arrival,) = await ingestor.ingest(state, result, now, {})
    assert arrival.urgent and arrival.item.title == gone.title


async def test_an_urgent_item_whose_page_is_gone_is_old_news(
    sites: wild.Wild, fetcher: HttpFetcher, db: Database
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    (state,) = await source_store.sync(db, [SourceSpec("site", f"{sites.base}/news/", "html")])
    ingestor = Ingestor(db, SIX_HOURS, timedelta(hours=24))
    await ingestor.ingest(state, PollResult([], None), now)
    state = await source_store.get(db, "site")
    assert state is not None
    sites.gone.add("/article/deleted-story")
    gone = Item(
        "site",
        "عاجل.. غرق مركب صيد قبالة الساحل",
        f"{sites.base}/article/deleted-story",
        urgent=True,
    )
    poller = SourcePoller(SourceSettings("site", f"{sites.base}/news/", "html", ZONE), fetcher)
    result = PollResult([gone], None)
    dated = await ingestor.date_urgent(state, result, now, poller.read_published)
    assert await ingestor.ingest(state, result, now, dated) == []  # stored, not alerted
    assert sites.article_hits["/article/deleted-story"] == 1


def item(n: int, minutes_ago: int | None, now: datetime, **extra: object) -> Item:
    published = now - timedelta(minutes=minutes_ago) if minutes_ago is not None else None
    return Item(
        "site",
        f"عنوان خبر محلي رقم {n} عن موضوع مختلف {n * 11}",
        f"https://site.ma/{n}",
        published=published,
        **extra,
    )


async def _primed(db: Database, now: datetime) -> tuple[Ingestor, SourceState]:
    (state,) = await source_store.sync(db, [SourceSpec("site", "https://site.ma/", "auto")])
    ingestor = Ingestor(db, SIX_HOURS, timedelta(hours=24))
    await ingestor.ingest(state, PollResult([], None), now)
    primed = await source_store.get(db, "site")
    assert primed is not None and primed.primed
    return ingestor, primed


async def test_a_headline_entering_the_urgent_block_long_after_it_was_stored(db: Database) -> None:
    first_seen = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    ingestor, state = await _primed(db, first_seen)
    old, recent = item(1, None, first_seen), item(2, None, first_seen)
    await ingestor.ingest(state, PollResult([old], None), first_seen)
    later = first_seen + timedelta(hours=20)
    await ingestor.ingest(state, PollResult([recent], None), later - timedelta(minutes=30))
    promoted = [replace(i, urgent=True, from_ticker=True) for i in (old, recent)]
    arrivals = await ingestor.ingest(state, PollResult(promoted, None), later)
    # Stored 20 hours ago: not breaking; stored half an hour ago: breaking now.
    assert [a.item.url for a in arrivals] == [recent.url]
    assert all(a.urgent for a in arrivals)


async def test_a_stored_headline_dated_old_by_its_page_does_not_alert_when_promoted(
    db: Database,
) -> None:
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    ingestor, state = await _primed(db, now)
    plain = item(3, None, now)
    await ingestor.ingest(state, PollResult([plain], None), now)
    promoted = replace(plain, urgent=True, from_ticker=True)
    seen: list[str] = []

    async def read(found: Item) -> datetime | None:
        seen.append(found.uid)
        return now - timedelta(days=30)

    result = PollResult([promoted], None)
    dated = await ingestor.date_urgent(state, result, now, read)
    assert seen == [plain.uid]
    assert await ingestor.ingest(state, result, now, dated) == []


async def test_only_the_undated_urgent_items_of_a_poll_are_read_for_a_date(db: Database) -> None:
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    ingestor, state = await _primed(db, now)
    dated = item(5, 10, now, urgent=True)  # its time is known: no page to read
    undated = item(6, None, now, urgent=True)
    ordinary = item(7, None, now)  # not urgent: no alert to hold
    seen: list[str] = []

    async def read(found: Item) -> datetime | None:
        seen.append(found.uid)
        return now - timedelta(days=2)

    result = PollResult([dated, undated, ordinary], None)
    assert await ingestor.date_urgent(state, result, now, read) == {
        undated.uid: now - timedelta(days=2)
    }
    assert seen == [undated.uid]
    # Two days old by its page: stored, not announced; the others are.
    arrivals = await ingestor.ingest(state, result, now, {undated.uid: now - timedelta(days=2)})
    assert sorted(a.item.uid for a in arrivals) == sorted([dated.uid, ordinary.uid])


async def test_a_poll_of_a_dated_listing_announces_nothing_it_re_lists(db: Database) -> None:
    """The listed-below-stored rule as a poll meets it: through `ingest`, with what is stored."""
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    ingestor, state = await _primed(db, now)
    known = item(2, 30, now)
    await ingestor.ingest(state, PollResult([known], None), now)
    newest = replace(item(1, None, now), summary="ملخص الخبر", image="https://site.ma/1.jpg")
    uncovered = item(3, None, now)
    listing = [newest, known, uncovered]
    result = PollResult(listing, None, listed=tuple(i.uid for i in listing))
    arrivals = await ingestor.ingest(state, result, now)
    assert [a.item.uid for a in arrivals] == [newest.uid]
    # Both are stored, with what the listing said of them.
    stored = await items.get(db, arrivals[0].item_id)
    assert stored is not None
    assert (stored.summary, stored.image_url) == ("ملخص الخبر", "https://site.ma/1.jpg")
    found = await items.search(db, [normalize("ملخص")], limit=5)  # a word of its summary only
    assert [i.uid for i in found] == [newest.uid]
    assert await items.known_uids(db, [uncovered.uid]) == {uncovered.uid}


async def test_a_headline_stored_exactly_the_freshness_limit_ago_is_still_dated(
    db: Database,
) -> None:
    first_seen = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    ingestor, state = await _primed(db, first_seen)
    plain = item(8, None, first_seen)
    await ingestor.ingest(state, PollResult([plain], None), first_seen)
    seen: list[str] = []

    async def read(found: Item) -> datetime | None:
        seen.append(found.uid)
        return None

    promoted = PollResult([replace(plain, urgent=True, from_ticker=True)], None)
    await ingestor.date_urgent(state, promoted, first_seen + SIX_HOURS, read)
    assert seen == [plain.uid]
    await ingestor.date_urgent(state, promoted, first_seen + SIX_HOURS + timedelta(seconds=1), read)
    assert seen == [plain.uid]  # a second later it is old: no page read for it


def test_an_undated_item_listed_below_stored_ones_is_old_news() -> None:
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    newest, known, uncovered, dated_below = (
        item(1, None, now),
        item(2, 30, now),
        item(3, None, now),
        item(4, 20, now),
    )
    listing = [newest, known, uncovered, dated_below]
    listed = tuple(i.uid for i in listing)
    chosen = select_new(listing, {known.uid}, True, now, SIX_HOURS, {}, listed)
    # Above every stored item: new. Below one and undated: re-listed or uncovered, not new.
    # Below one but dated and fresh: its date speaks for it.
    assert chosen == [newest, dated_below]
    # Without a dated listing (a homepage), position says nothing.
    assert select_new(listing, {known.uid}, True, now, SIX_HOURS) == [
        newest,
        uncovered,
        dated_below,
    ]


async def test_a_date_in_the_future_is_shown_and_sorted_as_first_seen(db: Database) -> None:
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    ingestor, state = await _primed(db, now)
    ahead = item(5, -600, now)  # ten hours ahead of us
    ordinary = item(6, 5, now)
    (first, second) = await ingestor.ingest(state, PollResult([ordinary, ahead], None), now)
    stored = {i.url: i for i in await items.latest(db, 10)}
    assert stored[ahead.url].published_at == now  # not ten hours from now
    assert stored[ordinary.url].published_at == now - timedelta(minutes=5)
    # /latest: the future item first (seen now), not pinned above items seen later.
    later = item(7, 0, now + timedelta(minutes=1))
    await ingestor.ingest(state, PollResult([later], None), now + timedelta(minutes=1))
    assert [i.url for i in await items.latest(db, 10)] == [later.url, ahead.url, ordinary.url]
    assert {a.item.published for a in (first, second)} == {now, now - timedelta(minutes=5)}


class _WritesWhileFetching:
    """A Fetcher that, while an article page is fetched, has another task write to the
    database: that write can only finish if no transaction is held across the fetch."""

    def __init__(self, inner: HttpFetcher, db: Database) -> None:
        self.inner, self.db = inner, db
        self.writes_done: list[bool] = []

    async def fetch(self, url: str, validators: Validators | None = None) -> Fetched:
        if "/article/" in url:

            async def write() -> None:
                async with self.db.transaction() as conn:
                    await conn.execute("UPDATE meta SET value = value WHERE key = 'x'")

            try:
                # A fresh context: the task is another writer, not part of this one's work.
                other = asyncio.create_task(write(), context=contextvars.Context())
                await asyncio.wait_for(other, 2)
                self.writes_done.append(True)
            except TimeoutError:
                self.writes_done.append(False)
        return await self.inner.fetch(url, validators)


async def test_pages_are_dated_outside_the_polls_transaction(
    sites: wild.Wild, fetcher: HttpFetcher, db: Database
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config = _config(f"{sites.base}/news/")
    await source_store.sync(db, [SourceSpec("site", config.sources[0].url, "html")])
    watching = _WritesWhileFetching(fetcher, db)
    watcher = Watcher(db, config, watching, clock=lambda: now)
    await watcher.poll("site")
    sites.urgent = [("/article/late-news", "قرار مفاجئ بإغلاق المدارس غدا بسبب الأمطار")]
    (arrival,) = await watcher.poll("site")
    assert arrival.urgent and watching.writes_done == [True]
