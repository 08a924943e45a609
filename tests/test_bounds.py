"""Bounds on hostile sources: nesting depth before parsing, titles and summaries after."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from bot.news.bounds import MAX_DEPTH, MAX_TITLE, bounded_text, check_html, nesting_depth
from bot.news.encoding import decode
from bot.news.models import Item, ParseError
from tests.conftest import CORPUS

DEEP = {
    "divs": "<html><body>" + "<div>" * 100_000 + "نص" + "</div>" * 100_000,
    "lists": "<html><body>" + "<ul><li>" * 50_000 + "نص",
    "tables": "<html><body>" + "<table><tr><td>" * 30_000 + "نص",
}


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deep_pages_are_refused_before_parsing(shape: str) -> None:
    with pytest.raises(ParseError, match="too complex"):
        check_html(DEEP[shape])


@pytest.mark.parametrize(
    ("html", "depth"),
    [
        ("<div><p>a<p>b<p>c</div>", 2),  # a <p> closes the previous one
        ("<ul><li>a<li>b<li>c</ul>", 2),
        ("<div><br><img src=x><hr/><input></div>", 1),  # void and self-closed
        ("<div><script>if (a<b) {'<div><div>'}</script></div>", 2),  # script text is text
        ("<div></span></div><div><div></div></div>", 2),  # a stray end tag is ignored
        ("<a href=1>x<a href=2>y<a href=3>z", 1),  # an anchor closes the open one
    ],
)
def test_depth_follows_the_parsers_rules(html: str, depth: int) -> None:
    assert nesting_depth(html) == depth


def test_real_pages_are_far_below_the_limit() -> None:
    tarball = CORPUS / "htmldate_test_set.tar.xz"
    if not tarball.exists():
        pytest.skip(f"{tarball} is absent (the shared corpus)")
    deepest = 0
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if member.name.endswith(".html"):
                data = archive.extractfile(member)
                assert data is not None
                deepest = max(deepest, nesting_depth(decode(data.read())))
    pages = [*CORPUS.glob("*.html"), *Path(CORPUS / "homepages").glob("*.html")]
    for page in pages:
        deepest = max(deepest, nesting_depth(decode(page.read_bytes())))
    assert 10 < deepest < MAX_DEPTH // 4


def test_titles_are_bounded_and_clean() -> None:
    huge = Item("s", "خبر عن الطقس " * 400_000, None, summary="ملخص " * 10_000)
    assert len(huge.title) == MAX_TITLE or len(huge.title) < MAX_TITLE
    assert huge.title.endswith("…") and huge.title.startswith("خبر عن الطقس")
    assert huge.summary is not None and len(huge.summary) <= 2000
    dirty = Item("s", "إغلاق\x00 الطريق\x07\tالساحلية\r\nغدا\x85", None, summary="\x00\x01")
    assert dirty.title == "إغلاق الطريق الساحلية غدا"
    assert dirty.summary is None


def test_bounded_text_cuts_at_a_word_when_it_can() -> None:
    assert bounded_text("كلمة " * 100, 50) == ("كلمة " * 9).strip() + "…"
    assert bounded_text("ا" * 100, 50) == "ا" * 49 + "…"
    assert bounded_text("قصير", 50) == "قصير"


def test_mostly_utf8_keeps_its_arabic_with_replacement_characters() -> None:
    text = "<rss><channel>" + "<item><title>انقطاع الماء عن حي النهضة</title></item>" * 20
    body = text.encode() + b"\xd8<x/>\xff\xfe</channel></rss>"
    decoded = decode(body)
    assert decoded.count("انقطاع الماء عن حي النهضة") == 20
    assert decoded.count("\ufffd") == 3


def test_control_characters_from_a_feed_never_reach_a_title() -> None:
    item = Item("s", "حريق\x00 في\x1b[31m السوق", None)
    assert item.title == "حريق في [31m السوق"
