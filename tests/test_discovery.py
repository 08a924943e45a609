"""Discovery that follows the site: `auto` reads headlines from the feed or the WordPress REST
API a homepage announces, and the urgent block from the homepage, at every poll."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.news.discovery import announced
from bot.news.fetch import HttpFetcher
from bot.news.sources import SourcePoller, SourceSettings
from bot.news.wordpress import QUERY, posts_url_from_api
from tests import wild

ZONE = ZoneInfo("Africa/Casablanca")
STORM = wild.URGENT[0][1]


def auto(fetcher: HttpFetcher, url: str) -> SourcePoller:
    return SourcePoller(SourceSettings("site", url, "auto", ZONE), fetcher)


async def test_the_rest_api_is_preferred_to_homepage_scraping(
    sites: wild.Wild, fetcher: HttpFetcher
) -> None:
    source = auto(fetcher, f"{sites.base}/wpsite/")
    result = await source.poll(None, datetime.now(UTC))
    assert source.rest_url == f"{sites.base}/wpsite/wp-json/wp/v2/posts?{QUERY}"
    assert source.feed_url is None
    # The urgent block first, then the REST posts (dated, with categories), and none of the
    # homepage's own headlines.
    assert [i.title for i in result.items] == [STORM] + [t for _, t, _ in wild.REST_POSTS]
    storm, budget, bridge = result.items
    assert storm.urgent and storm.from_ticker
    assert not budget.urgent and bridge.urgent  # category «عاجل»
    assert budget.published is not None and bridge.published is not None
    assert result.listed == (budget.uid, bridge.uid)
    assert result.warnings == []
    # The homepage's urgent block is read again at the next poll.
    flood = "فيضانات مفاجئة تغمر الطريق الوطنية رقم اثنين"
    sites.urgent = [("/article/flood", flood)]
    again = await source.poll(None, datetime.now(UTC))
    assert [i.title for i in again.items] == [flood] + [t for _, t, _ in wild.REST_POSTS]


async def test_an_announced_feed_comes_before_the_rest_api(
    sites: wild.Wild, fetcher: HttpFetcher
) -> None:
    source = auto(fetcher, f"{sites.base}/wpboth/")
    result = await source.poll(None, datetime.now(UTC))
    assert source.feed_url == f"{sites.base}/wpboth/feed/" and source.rest_url is None
    assert [i.title for i in result.items] == [
        STORM,
        "انقطاع الماء الصالح للشرب عن ثلاثة أحياء",
        "مهرجان الفيلم القصير يعلن عن لائحة الأفلام المتنافسة",
    ]


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("https://site.ma/wp-json/", f"https://site.ma/wp-json/wp/v2/posts?{QUERY}"),
        ("https://site.ma/ar/wp-json", f"https://site.ma/ar/wp-json/wp/v2/posts?{QUERY}"),
        (
            "https://site.ma/?rest_route=/",
            "https://site.ma/?rest_route=%2Fwp%2Fv2%2Fposts&per_page=20"
            "&_embed=wp%3Aterm%2Cwp%3Afeaturedmedia",
        ),
        ("javascript:alert(1)", None),
        ("/wp-json/", None),  # made absolute by the caller, never guessed here
    ],
)
def test_rest_api_roots(root: str, expected: str | None) -> None:
    assert posts_url_from_api(root) == expected


def test_what_a_page_announces() -> None:
    head = (
        '<link rel="alternate" type="application/rss+xml" href="/comments/feed/">'
        '<link rel="alternate" type="application/rss+xml" href="/feed/">'
        '<link rel="https://api.w.org/" href="https://site.ma/wp-json/">'
        '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">'
    )
    found = announced(f"<html><head>{head}</head><body></body></html>", "https://site.ma/")
    assert found.feed_url == "https://site.ma/feed/"
    assert found.rest_url == f"https://site.ma/wp-json/wp/v2/posts?{QUERY}"
    assert announced("<html><body><p>x</p></body></html>", "https://site.ma/").rest_url is None


async def test_a_challenged_homepage_still_gets_its_headlines_from_feed(
    sites: wild.Wild, fetcher: HttpFetcher
) -> None:
    sites.root_feed = True
    source = auto(fetcher, f"{sites.base}/challenge/")
    for _ in range(3):
        result = await source.poll(None, datetime.now(UTC))
        assert [i.title for i in result.items] == [
            t["title"].removeprefix("عاجل: ") for t in wild.ARABIC_FEED_ITEMS
        ]
        # Headlines flow, but the urgent block cannot be read: that is still said.
        assert len(result.warnings) == 1 and result.warnings[0].startswith(
            "page looks like a bot challenge"
        )
    assert sites.root_feed_hits == 1 + 3  # the guess once, then the feed at every poll


async def test_a_challenged_homepage_without_a_feed_guesses_once(
    sites: wild.Wild, fetcher: HttpFetcher
) -> None:
    source = auto(fetcher, f"{sites.base}/challenge/")
    for _ in range(3):
        assert (await source.poll(None, datetime.now(UTC))).items == []
    assert sites.root_feed_hits == 1
