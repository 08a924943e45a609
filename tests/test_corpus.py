"""Every real page and feed of ../shared/corpus: parsed without an exception, checked where the
origin gives the truth (the expected-text file, the gold dates of SOURCES.md)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from selectolax.lexbor import LexborHTMLParser

from bench import eval_article, eval_dates
from bot.news.article import extract_article, is_boilerplate, published_time
from bot.news.encoding import decode
from bot.news.feeds import parse_feed
from bot.news.homepage import parse_homepage
from bot.news.models import ParseError
from bot.news.urgency import title_urgency
from tests.conftest import CORPUS

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the shared corpus is absent ({CORPUS})"
)
ZONE = ZoneInfo("Africa/Casablanca")
HTML = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
FEEDS = sorted(CORPUS.glob("*.xml")) if CORPUS.is_dir() else []

GOLD_DATES = {
    "htmldate__sputnik_arabic_2020_article_breaking_ticker.html": date(2020, 3, 17),
    "htmldate__youm7_2020_article.html": date(2020, 8, 24),
    "htmldate__akhbarelyom_2020_article.html": date(2020, 10, 7),
    "htmldate__albayan_ae_2020_article.html": date(2020, 6, 3),
    "htmldate__beirutobserver_2020_article_wordpress.html": date(2020, 11, 9),
    "htmldate__almadenahnews_jo_2020_article.html": date(2020, 4, 24),
    "trafilatura__assabah_tn_2019_article.html": date(2019, 2, 8),
    # Its only dateline is the last update («الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00»);
    # the publication day is in its own address (/2013/middle_east/8/3/), and its text speaks
    # of «السبت», Saturday 3 August 2013 (SOURCES.md).
    "newspaper__cnn_arabic_2013_article.html": date(2013, 8, 3),
}


def read(path: Path) -> str:
    return decode(path.read_bytes())


@pytest.mark.parametrize("path", HTML, ids=lambda p: p.name)
def test_every_page_parses(path: Path) -> None:
    text = read(path)
    article = extract_article(text, "https://example.org/article", ZONE)
    assert article.paragraphs and all(p.strip() for p in article.paragraphs)
    parse_homepage(text, "corpus", "https://example.org/")  # must not raise


@pytest.mark.parametrize(("name", "day"), sorted(GOLD_DATES.items()))
def test_gold_dates(name: str, day: date) -> None:
    article = extract_article(read(CORPUS / name), None, ZONE)
    assert article.published is not None
    # Gold dates are the site's local date.
    assert article.published.date() == day


# The moment each Arabic page states, read in the site's own zone. youm7 stamps its local clock
# with "Z" (09:23:13Z in the metadata, «09:23 ص» on the page): the page's clock is taken.
PAGE_MOMENTS = {
    "htmldate__youm7_2020_article.html": ("Africa/Cairo", "2020-08-24T09:23:00+02:00"),
    "htmldate__akhbarelyom_2020_article.html": ("Africa/Cairo", "2020-10-07T12:09:00+02:00"),
    "htmldate__albayan_ae_2020_article.html": ("Asia/Dubai", "2020-06-03T03:01:00+04:00"),
    "htmldate__almadenahnews_jo_2020_article.html": ("Asia/Amman", "2020-04-24T21:22:00+03:00"),
    "htmldate__sputnik_arabic_2020_article_breaking_ticker.html": (
        "Europe/Moscow",
        "2020-03-17T20:27:41+03:00",
    ),
    "htmldate__beirutobserver_2020_article_wordpress.html": (
        "Asia/Beirut",
        "2020-11-09T20:34:47+02:00",
    ),
    "trafilatura__assabah_tn_2019_article.html": ("Africa/Tunis", "2019-02-08T00:00:00+01:00"),
}


@pytest.mark.parametrize(("name", "zone_and_moment"), sorted(PAGE_MOMENTS.items()))
def test_published_moment_in_the_site_zone(name: str, zone_and_moment: tuple[str, str]) -> None:
    zone, moment = zone_and_moment
    got = published_time(LexborHTMLParser(read(CORPUS / name)), ZoneInfo(zone))
    expected = datetime.fromisoformat(moment)
    assert got is not None
    assert (got, got.utcoffset()) == (expected, expected.utcoffset())


def test_dates_on_htmldates_test_set_beat_htmldate_and_every_arabic_page_is_right() -> None:
    figures = eval_dates.run()
    if figures.skipped:
        pytest.skip(figures.skipped)
    ours, total = figures.right("ajil")
    theirs = max(figures.right("htmldate")[0], figures.right("htmldate_original")[0])
    arabic_right, arabic_total = figures.right("ajil", arabic_only=True)
    assert total == 200 and arabic_total == 8
    assert ours > theirs, "\n".join(figures.lines())
    assert arabic_right == arabic_total, "\n".join(figures.lines())


def test_cnn_arabic_body_matches_the_expected_text() -> None:
    article = extract_article(read(CORPUS / "newspaper__cnn_arabic_2013_article.html"), None, ZONE)
    expected = (CORPUS / "newspaper__cnn_arabic_2013_expected_text.txt").read_text("utf-8")
    closeness = eval_article.score(article.text, expected)
    # Before the comment policy was dropped: F1 0.914, difflib ratio 0.915.
    assert closeness.f1 >= 0.99 and closeness.ratio >= 0.99, closeness
    assert article.title == "معارضون يسيطرون على مخازن للصواريخ بريف دمشق"
    # No navigation, share buttons, footer, nor the comment policy at the end.
    assert "Cable News Network" not in article.text
    assert not any(is_boilerplate(p) for p in article.paragraphs)


@pytest.mark.parametrize(
    "name",
    ["chardet__windows-1256_no_charset_decl.html", "chardet__iso-8859-6_no_charset_decl.html"],
)
def test_undeclared_legacy_encodings_come_out_as_arabic(name: str) -> None:
    text = read(CORPUS / name)
    assert "أعلنت كتائب" in text


def test_sputnik_ticker_is_found() -> None:
    items = parse_homepage(
        read(CORPUS / "htmldate__sputnik_arabic_2020_article_breaking_ticker.html"),
        "sputnik",
        "https://arabic.sputniknews.com/",
    ).items
    ticker = [i for i in items if i.from_ticker]
    assert len(ticker) == 2 and all(i.urgent for i in ticker)
    assert "مصر تسجل 30 إصابة جديدة وحالتي وفاة بفيروس كورونا" in [i.title for i in ticker]


def test_akhbarelyom_prefix_marks_urgency_and_almadenah_does_not() -> None:
    urgent = parse_homepage(
        read(CORPUS / "htmldate__akhbarelyom_2020_article.html"), "a", "https://akhbarelyom.com/"
    ).items
    assert any(i.urgent and not i.from_ticker and not i.title.startswith("عاجل") for i in urgent)
    page = read(CORPUS / "htmldate__almadenahnews_jo_2020_article.html")
    links = [
        a.text(deep=True).strip() for a in LexborHTMLParser(page).css("a") if "عاجل" in a.text()
    ]
    assert len(links) >= 2
    assert not any(title_urgency(title)[0] for title in links)
    items = parse_homepage(page, "m", "https://almadenahnews.com/").items
    assert not any(i.urgent for i in items if "عاجل" in i.title)


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: p.name)
def test_every_feed_parses_or_fails_cleanly(path: Path) -> None:
    try:
        items = parse_feed(read(path), "corpus", "https://example.org/", ZONE)
    except ParseError as exc:
        assert exc.reason
        return
    assert all(i.title for i in items)


def test_feed_details() -> None:
    rss = parse_feed(
        read(CORPUS / "nabdsharqi__jekyll_2015_rss.xml"), "n", "https://example.org/", ZONE
    )
    atom = parse_feed(
        read(CORPUS / "nabdsharqi__jekyll_2015_atom.xml"), "n", "https://example.org/", ZONE
    )
    assert len(rss) == 10 and len(atom) == 10
    assert all(i.published is not None and i.published.year == 2015 for i in rss)
    assert {i.uid for i in rss} == {i.uid for i in atom}  # the same posts, the same ids
    al3omk = parse_feed(
        read(CORPUS / "prospect__al3omk_2026_rss_regenerated.xml"), "a", "https://al3omk.com/", ZONE
    )
    assert len(al3omk) == 10 and all(i.url for i in al3omk)
