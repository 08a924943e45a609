"""Article pages: title, published time, image, author and the body as clean paragraphs.

The body comes from trafilatura (no navigation, ticker, "read also" boxes, share buttons,
comments or footer). Its date search is off: it guesses from a footer's «© 2021» and has no
time of day, so the published time is read here, from the page's metadata and then from an
Arabic or French dateline in the text.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

import trafilatura
from selectolax.lexbor import LexborHTMLParser

from bot.news.markup import absolute_url, clean_text
from bot.news.models import Article, ParseError
from bot.news.published import find_dateline, published_time
from bot.news.text import normalize

__all__ = ["extract_article", "find_dateline", "published_time"]


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
