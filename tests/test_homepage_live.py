"""Homepage sources over real HTTP on 127.0.0.1: which themes are urgent, and why.

The themes are in tests/sites.py; their headlines were written for these tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.news.fetch import HttpFetcher
from bot.news.homepage import parse_homepage
from bot.news.netguard import FetchPolicy
from bot.news.sources import SourcePoller, SourceSettings
from tests import sites

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
ZONE = ZoneInfo("Africa/Casablanca")
TICKER_TITLES = [t for _, t in sites.TICKER]
HEADLINE_TITLES = [t for _, t in sites.HEADLINES]


@pytest.fixture
async def site() -> AsyncIterator[str]:
    async with sites.serve() as base:
        yield base


@pytest.fixture
async def fetcher(site: str) -> AsyncIterator[HttpFetcher]:
    # The test site is on 127.0.0.1: trusted as a configured source's origin would be.
    policy = FetchPolicy([site])
    async with HttpFetcher(total_timeout=5, max_bytes=1024 * 1024, policy=policy) as http:
        yield http


def poller(fetcher: HttpFetcher, url: str, **extra: str) -> SourcePoller:
    return SourcePoller(SourceSettings("test", url, "html", ZONE, **extra), fetcher)


@pytest.mark.parametrize("theme", ["marquee", "custom", "latest"])
async def test_unlabelled_and_latest_bars_are_headlines(
    site: str, fetcher: HttpFetcher, theme: str
) -> None:
    # "marquee" and "custom" have no label at all, "latest" says «آخر الأخبار»: nothing urgent.
    result = await poller(fetcher, f"{site}/theme/{theme}/").poll(None, NOW)
    assert not any(i.urgent or i.from_ticker for i in result.items)
    assert [i.title for i in result.items] == TICKER_TITLES + HEADLINE_TITLES


@pytest.mark.parametrize("theme", ["marquee", "custom"])
async def test_a_ticker_selector_makes_an_unlabelled_bar_urgent(
    site: str, fetcher: HttpFetcher, theme: str
) -> None:
    selector = "marquee" if theme == "marquee" else ".top-strip-77"
    result = await poller(fetcher, f"{site}/theme/{theme}/", ticker_selector=selector).poll(
        None, NOW
    )
    assert [i.title for i in result.items if i.urgent] == TICKER_TITLES
    assert [i.url for i in result.items if i.urgent] == [f"{site}{u}" for u, _ in sites.TICKER]


@pytest.mark.parametrize("theme", ["textonly", "jsbar"])
async def test_urgent_bars_without_links(site: str, fetcher: HttpFetcher, theme: str) -> None:
    result = await poller(fetcher, f"{site}/theme/{theme}/").poll(None, NOW)
    urgent = [i for i in result.items if i.urgent]
    assert [i.title for i in urgent] == TICKER_TITLES
    assert {i.url for i in urgent} == {f"{site}/"}  # the site's front page
    assert len({i.uid for i in urgent}) == len(urgent)  # one id each, from the text
    assert [i.title for i in result.items if not i.urgent] == HEADLINE_TITLES


async def test_the_reading_names_the_block_and_notes_an_empty_one(
    site: str, fetcher: HttpFetcher
) -> None:
    # What `ajil fetch` will show: the block taken as urgent and by which label.
    pages = {}
    for theme in ("jannah", "sputnik", "empty", "latest"):
        fetched = await fetcher.fetch(f"{site}/theme/{theme}/")
        pages[theme] = parse_homepage(fetched.body.decode(), "t", fetched.url)
    assert pages["jannah"].urgent_block == "div#tie-breaking.breaking-news labelled «عاجل»"
    assert pages["sputnik"].urgent_block == (
        "div.b-breakingnews-double labelled «عاجل» (data-list)"
    )
    assert pages["empty"].urgent_block == "div.urgent labelled «عاجل»"
    assert pages["empty"].notes == ("urgent block is empty in the page: its script fills it",)
    assert pages["latest"].urgent_block is None and pages["latest"].notes == ()


async def test_a_homepage_source_dates_its_items_by_the_times_their_cards_show(
    site: str, fetcher: HttpFetcher
) -> None:
    # The poll's time and the source's zone reach the reader: «10:05» is Casablanca's clock
    # (UTC+01 in November 2026), «منذ 20 دقيقة» counts back from the poll.
    result = await poller(fetcher, f"{site}/theme/timed/").poll(None, NOW)
    published = {i.title: i.published for i in result.items}
    assert published[TICKER_TITLES[0]] == datetime(2026, 11, 29, 9, 5, tzinfo=UTC)
    assert published[TICKER_TITLES[1]] == NOW - timedelta(minutes=20)
    assert all(published[t] is None for t in HEADLINE_TITLES)  # their cards show no time
