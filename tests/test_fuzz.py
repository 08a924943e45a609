"""Hostile input: random bytes and random HTML never raise anything but ParseError."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.news.article import extract_article
from bot.news.encoding import decode
from bot.news.feeds import parse_feed
from bot.news.homepage import parse_homepage
from bot.news.models import ParseError
from bot.news.summary import summarize
from bot.news.urgency import title_urgency
from bot.news.wordpress import parse_posts

ZONE = ZoneInfo("Africa/Casablanca")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAGS = ["div", "a", "p", "span", "ul", "li", "h2", "marquee", "script", "article", "time", "meta"]
ATTRS = [
    ' class="breaking-news"',
    ' class="ticker"',
    ' href="/x"',
    ' href="javascript:alert(1)"',
    ' href="http://[::1"',
    ' content="2021-13-45"',
    ' property="article:published_time"',
    "",
]
WORDS = [
    "عاجل",
    "Urgent",
    "|",
    ":",
    "..",
    "الإثنين 31 مايو 2021 على الساعة 20:30",
    "&amp;",
    "<",
    "\u202e",
    "خبر",
    "x" * 40,
    "6.037",
    "؟",
]


def fragments() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(WORDS)
    return st.recursive(
        leaf,
        lambda inner: st.builds(
            lambda tag, attr, kids: f"<{tag}{attr}>{''.join(kids)}</{tag}>",
            st.sampled_from(TAGS),
            st.sampled_from(ATTRS),
            st.lists(inner, max_size=4),
        ),
        max_leaves=30,
    )


def _safely(call: object) -> None:
    try:
        call()  # type: ignore[operator]
    except ParseError as exc:
        assert exc.reason


@FAST
@given(st.binary(max_size=3000))
def test_random_bytes(body: bytes) -> None:
    text = decode(body)
    assert isinstance(text, str)
    _safely(lambda: parse_feed(text, "s", "https://site.ma/", ZONE))
    _safely(lambda: parse_homepage(text, "s", "https://site.ma/"))
    _safely(lambda: parse_posts(text, "s", "https://site.ma/"))
    _safely(lambda: extract_article(text, "https://site.ma/a", ZONE))


@FAST
@given(st.lists(fragments(), max_size=6))
def test_random_html(parts: list[str]) -> None:
    page = "<html><body>" + "".join(parts) + "</body></html>"
    _safely(lambda: parse_homepage(page, "s", "https://site.ma/"))
    _safely(lambda: extract_article(page, "https://site.ma/a", ZONE))
    _safely(lambda: parse_feed(page, "s", "https://site.ma/", ZONE))


@FAST
@given(st.lists(fragments(), max_size=6))
def test_random_feeds(parts: list[str]) -> None:
    feed = (
        "<?xml version='1.0'?><rss version='2.0'><channel>"
        + "".join(
            f"<item><title>{p}</title><link>{p}</link><pubDate>{p}</pubDate></item>" for p in parts
        )
        + "</channel></rss>"
    )
    _safely(lambda: parse_feed(feed, "s", "https://site.ma/", ZONE))


@given(st.text(max_size=200))
def test_titles_and_summaries_never_raise(text: str) -> None:
    urgent, title = title_urgency(text)
    assert isinstance(urgent, bool) and isinstance(title, str)
    picked = summarize([text, text[::-1]], title=text)
    assert all(sentence in text or sentence in text[::-1] for sentence in picked)
    assert sum(len(s) for s in picked) <= 1000 + len(picked)
