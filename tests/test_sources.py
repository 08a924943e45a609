"""Sources of every kind, ticker markups, encodings and faults, against real HTTP servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.news.fetch import FetchError, HttpFetcher, Validators
from bot.news.netguard import FetchPolicy
from bot.news.sources import SourceError, SourcePoller, SourceSettings, poll_all
from tests import sites

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
ZONE = ZoneInfo("Africa/Casablanca")


@pytest.fixture
async def site() -> AsyncIterator[str]:
    async with sites.serve() as base:
        yield base


@pytest.fixture
async def fetcher(site: str) -> AsyncIterator[HttpFetcher]:
    # The test site is on 127.0.0.1: trusted as a configured source's origin would be.
    policy = FetchPolicy([site])
    async with HttpFetcher(total_timeout=2, max_bytes=1024 * 1024, policy=policy) as http:
        yield http


def poller(fetcher: HttpFetcher, url: str, kind: str = "auto", **extra: str) -> SourcePoller:
    return SourcePoller(SourceSettings("test", url, kind, ZONE, **extra), fetcher)


# "marquee" and "custom" carry no urgent label: not urgent unless a ticker_selector names them
# (tests/test_homepage_live.py).
@pytest.mark.parametrize("theme", ["jannah", "jnews", "tagdiv", "sputnik", "labelled"])
async def test_ticker_found_without_selectors(site: str, fetcher: HttpFetcher, theme: str) -> None:
    result = await poller(fetcher, f"{site}/theme/{theme}/", "html").poll(None, NOW)
    ticker = [i for i in result.items if i.from_ticker]
    assert [i.title for i in ticker] == [title for _, title in sites.TICKER]
    assert all(i.urgent for i in ticker)
    assert [i.url for i in ticker] == [f"{site}{path}" for path, _ in sites.TICKER]
    headlines = [i for i in result.items if not i.from_ticker]
    assert [i.title for i in headlines] == [title for _, title in sites.HEADLINES]
    assert not any(i.urgent for i in headlines)
    # The navigation's «عاجل» section link is not a ticker item.
    assert all("/section/" not in (i.url or "") for i in result.items)


async def test_custom_markup_needs_and_honours_selectors(site: str, fetcher: HttpFetcher) -> None:
    plain = await poller(fetcher, f"{site}/theme/custom/", "html").poll(None, NOW)
    assert not any(i.from_ticker for i in plain.items)
    chosen = await poller(
        fetcher,
        f"{site}/theme/custom/",
        "html",
        ticker_selector=".top-strip-77",
        headline_selector="main h2 a",
    ).poll(None, NOW)
    assert [i.title for i in chosen.items if i.urgent] == [t for _, t in sites.TICKER]
    assert [i.title for i in chosen.items if not i.urgent] == [t for _, t in sites.HEADLINES]


async def test_auto_finds_the_feed_and_merges_the_ticker(site: str, fetcher: HttpFetcher) -> None:
    source = poller(fetcher, f"{site}/theme/jannah/")
    result = await source.poll(None, NOW)
    assert source.feed_url == f"{site}/jannah/rss"
    by_url = {i.url: i for i in result.items}
    # In the ticker and in the feed: one item, urgent, with the feed's time.
    merged = by_url[f"{site}/news/1"]
    assert merged.urgent and merged.from_ticker
    assert merged.published == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert len([i for i in result.items if i.uid == merged.uid]) == 1
    # «عاجل |» title prefix: urgent, marker removed; tracking parameters don't split ids.
    fire = next(i for i in result.items if "مستودع" in i.title)
    assert fire.urgent and fire.title == "حريق في مستودع بالمنطقة الصناعية"
    assert fire.image == f"{site}/img/5.jpg"
    assert not next(i for i in result.items if "ندوة" in i.title).urgent
    # The feed's validators are kept for the next poll.
    assert result.validators is not None


async def test_auto_without_a_feed_falls_back_to_headlines(site: str, fetcher: HttpFetcher) -> None:
    source = poller(fetcher, f"{site}/nofeed/")
    result = await source.poll(None, NOW)
    assert source.feed_url is None
    titles = [i.title for i in result.items]
    assert titles == [t for _, t in sites.TICKER] + [t for _, t in sites.HEADLINES]


async def test_auto_on_a_feed_url_reads_the_feed(site: str, fetcher: HttpFetcher) -> None:
    result = await poller(fetcher, f"{site}/rss").poll(None, NOW)
    assert len(result.items) == 3


@pytest.mark.parametrize(
    ("path", "titles"),
    [
        # Newest first, by date, whatever the listing order.
        ("/atom", ["séisme ressenti dans la région", "تلاميذ يتوجون بجائزة في البرمجة"]),
        ("/rss1", ["قافلة طبية لفائدة القرى المجاورة"]),
        ("/rss091", ["حملة للتبرع بالدم في ساحة الاستقلال"]),
    ],
)
async def test_feed_formats(site: str, fetcher: HttpFetcher, path: str, titles: list[str]) -> None:
    result = await poller(fetcher, f"{site}{path}", "rss").poll(None, NOW)
    assert [i.title for i in result.items] == titles


async def test_atom_details(site: str, fetcher: HttpFetcher) -> None:
    second, first = (await poller(fetcher, f"{site}/atom", "rss").poll(None, NOW)).items
    assert first.url == f"{site}/news/7" and not first.urgent
    assert first.published == datetime(2026, 11, 29, 7, 30, tzinfo=UTC)
    assert second.urgent  # "Urgent :" prefix


async def test_arabic_dates_in_feeds(site: str, fetcher: HttpFetcher) -> None:
    items = (await poller(fetcher, f"{site}/rss", "rss").poll(None, NOW)).items
    moroccan = next(i for i in items if i.url == f"{site}/news/1")
    assert moroccan.published == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert moroccan.urgent  # category «عاجل»


async def test_wordpress_rest(site: str, fetcher: HttpFetcher) -> None:
    items = (await poller(fetcher, f"{site}/wp/", "wordpress").poll(None, NOW)).items
    assert [i.title for i in items] == [
        "الحكومة “تصادق” على مرسوم الدعم",
        "الفريق المحلي يفوز خارج ميدانه",
    ]
    decree, match = items
    assert decree.urgent and not match.urgent  # category «أخبار عاجلة»
    assert decree.published == datetime(2026, 11, 29, 8, 10, tzinfo=UTC)
    assert decree.summary == "صادق المجلس على المرسوم…"
    assert decree.image == f"{site}/img/11.jpg"


@pytest.mark.parametrize("path", ["/cp1256/", "/iso6/"])
async def test_legacy_arabic_encodings(site: str, fetcher: HttpFetcher, path: str) -> None:
    items = (await poller(fetcher, f"{site}{path}", "html").poll(None, NOW)).items
    assert [i.title for i in items] == [
        "تعليق الرحلات في المطار بسبب الضباب الكثيف",
        "ارتفاع عدد زوار المدينة خلال العطلة الصيفية",
    ]
    assert items[0].urgent


async def test_conditional_get_costs_a_304(site: str, fetcher: HttpFetcher) -> None:
    source = poller(fetcher, f"{site}/conditional", "rss")
    first = await source.poll(None, NOW)
    assert first.validators == Validators('"v1"', "Sun, 29 Nov 2026 08:00:00 GMT")
    again = await source.poll(first.validators, NOW)
    assert again.not_modified and again.items == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/slow", "timed out after 2 s"),
        ("/error500", "HTTP 500"),
        ("/huge", "too large (over 1 MB)"),
        ("/loop", "more than 5 redirects"),
        ("/garbage", "malformed feed"),
        ("/malformed", "malformed feed"),
        ("/missing", "HTTP 404"),
    ],
)
async def test_faults_fail_the_source_with_a_reason(
    site: str, fetcher: HttpFetcher, path: str, reason: str
) -> None:
    with pytest.raises(SourceError) as caught:
        await poller(fetcher, f"{site}{path}", "rss").poll(None, NOW)
    assert reason in caught.value.reason


async def test_a_few_redirects_are_followed(site: str, fetcher: HttpFetcher) -> None:
    result = await poller(fetcher, f"{site}/hop/4", "rss").poll(None, NOW)
    assert len(result.items) == 3


async def test_refused_connection() -> None:
    closed = "http://127.0.0.1:9/"
    async with HttpFetcher(policy=FetchPolicy([closed])) as fetcher:
        with pytest.raises(FetchError, match="cannot connect"):
            await fetcher.fetch(closed)


async def test_one_failing_source_never_stops_the_others(site: str, fetcher: HttpFetcher) -> None:
    good = SourcePoller(SourceSettings("good", f"{site}/rss", "rss", ZONE), fetcher)
    bad = SourcePoller(SourceSettings("bad", f"{site}/error500", "rss", ZONE), fetcher)
    slow = SourcePoller(SourceSettings("slow", f"{site}/slow", "rss", ZONE), fetcher)
    results = await poll_all([bad, slow, good], {}, NOW)
    assert isinstance(results["bad"], SourceError)
    assert isinstance(results["slow"], SourceError)
    assert not isinstance(results["good"], SourceError) and len(results["good"].items) == 3


async def test_requests_name_ajil(site: str, fetcher: HttpFetcher) -> None:
    fetched = await fetcher.fetch(f"{site}/ua")
    assert fetched.body.decode().startswith("Ajil/")


async def test_at_most_two_requests_at_a_time_per_host(site: str, fetcher: HttpFetcher) -> None:
    import asyncio

    answers = await asyncio.gather(*(fetcher.fetch(f"{site}/held") for _ in range(6)))
    assert max(int(a.body) for a in answers) == 2
