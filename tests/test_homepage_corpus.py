"""Homepage reading on the real pages of the shared corpus (read in place, never copied).

youm7, akhbarelyom and beirutobserver carry bars that are not breaking news (an unlabelled
`div.ticker`, «أخر الأخبار», «شريط الأحداث»): nothing urgent comes from them. Sputnik's
`li[data-list="عاجل"]` bar is urgent. kifache and alyaoum24 put their headlines in title spans
beside empty card links and in lists of title links. Figures over every page: bench/eval_sources.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.eval_sources import CORPUS, LABELS, homepage_reading
from bot.news.encoding import decode
from bot.news.homepage import parse_homepage
from bot.news.models import PageReading

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the shared corpus is absent ({CORPUS})"
)


def reading(name: str, base: str, now: datetime | None = None) -> PageReading:
    path = CORPUS / name if (CORPUS / name).is_file() else CORPUS / "homepages" / name
    zone = ZoneInfo("Africa/Casablanca") if now else None
    return parse_homepage(decode(path.read_bytes()), "corpus", base, tz=zone, now=now)


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("htmldate__youm7_2020_article.html", "https://www.youm7.com/"),
        ("htmldate__akhbarelyom_2020_article.html", "https://akhbarelyom.com/"),
        ("htmldate__beirutobserver_2020_article_wordpress.html", "https://www.beirutobserver.com/"),
    ],
)
def test_bars_that_are_not_breaking_news_make_nothing_urgent(name: str, base: str) -> None:
    page = reading(name, base)
    assert not any(i.from_ticker for i in page.items)
    assert page.urgent_block is None
    # Their items are still read, as headlines.
    assert len(page.items) >= 35


def test_akhbarelyom_urgent_only_by_its_title_marker() -> None:
    page = reading("htmldate__akhbarelyom_2020_article.html", "https://akhbarelyom.com/")
    urgent = [i for i in page.items if i.urgent]
    assert len(urgent) == 1 and not urgent[0].title.startswith("عاجل")
    assert "/3126681/" in (urgent[0].url or "")


def test_sputnik_labelled_bar_is_urgent() -> None:
    page = reading(
        "htmldate__sputnik_arabic_2020_article_breaking_ticker.html",
        "https://arabic.sputniknews.com/",
    )
    urgent = [i for i in page.items if i.urgent]
    assert len(urgent) == 2 and all(i.from_ticker for i in urgent)
    assert page.urgent_block == "div.b-breakingnews-double.active labelled «عاجل» (data-list)"
    assert len(page.items) == 16


def test_kifache_headlines_beside_empty_card_links_and_its_empty_urgent_block() -> None:
    page = reading("kifache_2018_homepage.html", "http://kifache.com/")
    assert len(page.items) == 59 and not any(i.urgent for i in page.items)
    by_url = {i.url: i.title for i in page.items}
    # A span.block-title beside an empty a.link, and a span.separate-title.
    assert by_url["http://kifache.com/331060"].startswith("المدارس مواخير فساد")
    assert by_url["http://kifache.com/331541"].startswith("الرومانسية وسط دوزيم")
    assert all("/job/" not in u and "/category/" not in u for u in by_url)
    assert page.urgent_block == "div.urgent labelled «عاجل»"
    assert page.notes == ("urgent block is empty in the page: its script fills it",)


def test_alyaoum24_lists_of_title_links() -> None:
    page = reading("alyaoum24_2018_homepage.html", "http://www.alyaoum24.com/")
    urls = {i.url for i in page.items}
    assert len(page.items) == 62
    assert "http://www.alyaoum24.com/1052865.html" in urls  # a.post_link
    assert "http://www.alyaoum24.com/1053050.html" in urls  # a.post_tile
    assert "http://www.alyaoum24.com/1051455.html" in urls  # a.video_text
    assert not any("/author/" in u or "/jobs/" in u or "/news/" in u for u in urls if u)


def test_alyaoum24_an_article_linked_twice_takes_its_full_title() -> None:
    # A video strip's teaser text is cut short («...»); the «آخر الأخبار» list further down
    # links the same article with its whole title.
    page = reading("alyaoum24_2018_homepage.html", "http://www.alyaoum24.com/")
    by_url = {i.url: i.title for i in page.items}
    for url in ("http://www.alyaoum24.com/1052951.html", "http://www.alyaoum24.com/1052859.html"):
        teaser = by_url[url]
        assert not teaser.endswith("..."), teaser
        assert len(teaser.split()) >= 8
    # Its first link still sets its place: the video strip comes before the list.
    order = [i.url for i in page.items]
    assert order.index("http://www.alyaoum24.com/1052951.html") < order.index(
        "http://www.alyaoum24.com/1052915.html"
    )


def test_alyaoum24_items_take_the_times_their_cards_show() -> None:
    # Saved in March 2018, when Casablanca was on UTC+00. Its «آخر الأخبار» list runs from
    # «1:04» back to the previous afternoon: read just after, at 01:10.
    now = datetime(2018, 3, 18, 1, 10, tzinfo=UTC)
    page = reading("alyaoum24_2018_homepage.html", "http://www.alyaoum24.com/", now)
    at = {i.url.rsplit("/", 1)[-1]: i.published for i in page.items if i.url}
    assert at["1052865.html"] == datetime(2018, 3, 18, 1, 4, tzinfo=UTC)  # slider, «1:04»
    assert at["1053062.html"] == datetime(2018, 3, 17, 23, 59, tzinfo=UTC)  # yesterday's
    # A card with «مند 19 ساعة» (sic), and one with «مند يومان».
    assert at["1052264.html"] == now - timedelta(hours=19)
    assert at["1051784.html"] == now - timedelta(days=2)
    # The opinion columns show no time.
    assert at["1051340.html"] is None
    dated = [i for i in page.items if i.published is not None]
    assert len(dated) >= 30 and all(i.published <= now for i in dated)  # type: ignore[operator]


def test_kifache_items_take_their_cards_datelines_and_clocks() -> None:
    now = datetime(2018, 3, 17, 12, 0, tzinfo=UTC)
    page = reading("kifache_2018_homepage.html", "http://kifache.com/", now)
    at = {i.url: i.published for i in page.items}
    # span.block-date «الأربعاء 14 مارس 2018»: a day, read as its midnight in Casablanca.
    assert at["http://kifache.com/331060"] == datetime(2018, 3, 14, tzinfo=UTC)
    # The «آخر الأخبار» list's span.most-viewed-time «11:00».
    assert at["http://kifache.com/kifachetv/331557.html"] == datetime(2018, 3, 17, 11, tzinfo=UTC)
    assert sum(1 for t in at.values() if t is not None) >= 45


def test_precision_and_recall_over_the_corpus() -> None:
    import json

    labels = json.loads(Path(LABELS).read_text("utf-8"))
    urgent, headlines = homepage_reading(CORPUS, labels)
    assert urgent.overall[0] == "1.000"  # no false «عاجل» on any page
    assert float(headlines.overall[0]) >= 0.97 and float(headlines.overall[1]) >= 0.9
