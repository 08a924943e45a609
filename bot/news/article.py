"""Article pages: title, published time, image, author and the body as clean paragraphs.

The body comes from trafilatura (no navigation, ticker, "read also" boxes, share buttons,
comments or footer). Its date search is off: it guesses from a footer's «© 2021» and has no
time of day, so the published time is read here, from the page's metadata and then from an
Arabic or French dateline in the text.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, tzinfo
from typing import Any

import trafilatura
from selectolax.lexbor import LexborHTMLParser

from bot.news.dates import parse_date
from bot.news.markup import absolute_url, clean_text
from bot.news.models import Article, ParseError
from bot.news.text import normalize, western_digits

_DATE_META = (
    'meta[property="article:published_time"]',
    'meta[name="article:published_time"]',
    'meta[itemprop="datePublished"]',
    'meta[name="pubdate"]',
    'meta[name="publish-date"]',
    'meta[name="date"]',
    'meta[property="og:published_time"]',
    'meta[name="dc.date"]',
    'meta[name="DC.date.issued"]',
    '[property="dc:date"]',
)
# A dateline: day, one or two month words (with an optional «/ other name»), a year, then an
# optional time with «على الساعة», «الساعة», «à» or a dash, and ص/م.
_DATELINE = re.compile(
    r"\b\d{1,2}(?:er)?\s+[^\W\d_]+\.?(?:\s+[^\W\d_]+)?\s*(?:/\s*[^\W\d_]+(?:\s+[^\W\d_]+)?\s*)?"
    r"\d{4}(?:\s*م)?"
    r"(?:\s*[-،,|]?\s*(?:علي\s+)?(?:الساعه\s+)?(?:a\s+)?\d{1,2}(?::\d{2}|h\d{0,2})"
    r"(?:\s*(?:[صم]|مسا|مساا|صباحا|صباح|pm|am)\b)?)?"
)


def extract_article(html: str, url: str | None, tz: tzinfo) -> Article:
    """Read an article page; raises ParseError when no article text can be found."""
    tree = LexborHTMLParser(html)
    if tree.body is None:
        raise ParseError("not an HTML page")
    document = trafilatura.bare_extraction(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        with_metadata=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    data: dict[str, Any] = {}
    if document is not None:
        data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    title = _title(tree, data)
    paragraphs = _paragraphs(str(data.get("text") or ""), title)
    if not paragraphs:
        raise ParseError("no article text found on the page")
    base = url or str(data.get("url") or "")
    image = _meta(tree, 'meta[property="og:image"]', 'meta[name="twitter:image"]')
    return Article(
        url=url or (str(data["url"]) if data.get("url") else None),
        title=title,
        published=published_time(tree, tz),
        image=absolute_url(base, image or data.get("image")) if base else image,
        author=_meta(tree, 'meta[name="author"]', 'meta[property="article:author"]')
        or (str(data["author"]) if data.get("author") else None),
        paragraphs=tuple(paragraphs),
    )


def _meta(tree: LexborHTMLParser, *selectors: str) -> str | None:
    for selector in selectors:
        node = tree.css_first(selector)
        if node is not None:
            value = node.attributes.get("content")
            if value and value.strip():
                return value.strip()
    return None


def _title(tree: LexborHTMLParser, data: dict[str, Any]) -> str | None:
    node = tree.css_first("h1")
    heading = clean_text(node.text(deep=True, separator=" ")) if node is not None else ""
    if heading and len(heading) >= 8:
        return heading
    for candidate in (_meta(tree, 'meta[property="og:title"]'), data.get("title")):
        if candidate:
            return clean_text(str(candidate))
    return heading or None


def _paragraphs(text: str, title: str | None) -> list[str]:
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    # trafilatura returns the h1 as the first line of the text.
    if lines and title and normalize(lines[0]) == normalize(title):
        lines = lines[1:]
    return lines


def published_time(tree: LexborHTMLParser, tz: tzinfo) -> datetime | None:
    """The article's published time from metadata, JSON-LD, <time>, or a dateline in the text."""
    for selector in _DATE_META:
        node = tree.css_first(selector)
        if node is not None:
            moment = parse_date(node.attributes.get("content"), tz)
            if moment is not None:
                return moment
    for script in tree.css('script[type="application/ld+json"]'):
        moment = _json_ld_date(script.text(), tz)
        if moment is not None:
            return moment
    for node in tree.css("time[datetime]"):
        moment = parse_date(node.attributes.get("datetime"), tz)
        if moment is not None:
            return moment
    body = tree.body
    if body is None:
        return None
    text = body.text(deep=True, separator="\n")
    # Sidebars and "related" boxes carry other articles' dates: look near the title only.
    heading = tree.css_first("h1")
    title = heading.text(deep=True, separator="\n").strip() if heading is not None else ""
    at = text.find(title) if title else -1
    if at >= 0:
        return find_dateline(text[max(0, at - 400) : at + len(title) + 1500], tz)
    return find_dateline(text[:3000], tz)


def _json_ld_date(raw: str, tz: tzinfo) -> datetime | None:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, ValueError):
        return None
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found = value.get("datePublished")
            if isinstance(found, str):
                moment = parse_date(found, tz)
                if moment is not None:
                    return moment
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def find_dateline(text: str, tz: tzinfo) -> datetime | None:
    """The first readable dateline in a page's text («الإثنين 31 مايو 2021 على الساعة 20:30»)."""
    plain = normalize(western_digits(text))
    for match in _DATELINE.finditer(plain):
        moment = parse_date(match.group(0), tz)
        if moment is not None:
            return moment
    return None
