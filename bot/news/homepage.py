"""Homepages: the «عاجل» ticker and the headline links, with or without CSS selectors.

Without selectors the ticker is found by what themes call it (a class or id speaking of
breaking, ticker, urgent, news-bar, marquee or trending: Jannah `.breaking-news`, JNews
`.jeg_breakingnews`, tagDiv `.td-trending-now-wrapper`, Sputnik `b-breakingnews`) or by a
label «عاجل» / «Urgent» / «Breaking» / «Flash» standing before a set of links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from bot.news.markup import absolute_url, clean_text, same_site
from bot.news.models import Item, PageReading, ParseError
from bot.news.urgency import is_urgent_label, title_urgency

_TICKER_NAME = re.compile(
    r"breaking|ticker|urgent|news-?bar|marquee|trending|flash-?news|akhbar-?3ajil|ajil", re.I
)
_MIN_TITLE = 12
MAX_TICKER_LINKS = 40
MAX_HEADLINES = 100
_HEADLINE_SELECTORS = (
    "h1 a[href], h2 a[href], h3 a[href], h4 a[href], a[href] h2, a[href] h3,"
    " .entry-title a[href], .post-title a[href], a[rel=bookmark]"
)


@dataclass(frozen=True)
class Link:
    title: str
    url: str | None


def parse_homepage(
    html: str,
    source: str,
    base_url: str,
    ticker_selector: str | None = None,
    headline_selector: str | None = None,
) -> PageReading:
    """Ticker items (urgent) first, then the other headlines, each URL once."""
    tree = LexborHTMLParser(html)
    if tree.body is None:
        raise ParseError("not an HTML page")
    ticker = find_ticker(tree, base_url, ticker_selector)
    headlines = find_headlines(tree, base_url, headline_selector)
    items: list[Item] = []
    seen: set[str] = set()
    for link, from_ticker in [(t, True) for t in ticker] + [(h, False) for h in headlines]:
        key = link.url or link.title
        if key in seen:
            continue
        seen.add(key)
        urgent, title = title_urgency(link.title)
        items.append(
            Item(source, title, link.url, urgent=urgent or from_ticker, from_ticker=from_ticker)
        )
    return PageReading(items)


def _select(tree: LexborHTMLParser | LexborNode, selector: str) -> list[LexborNode]:
    try:
        return list(tree.css(selector))
    except (SelectolaxError, ValueError) as exc:
        raise ParseError(f"invalid CSS selector {selector!r} ({exc})") from None


def find_ticker(tree: LexborHTMLParser, base_url: str, selector: str | None = None) -> list[Link]:
    if selector:
        containers = _select(tree, selector)
    else:
        containers = _outermost(_named_tickers(tree)) or _labelled_tickers(tree)
    links: list[Link] = []
    for container in containers:
        links.extend(_ticker_links(container, base_url))
    return _unique(links)


def _named_tickers(tree: LexborHTMLParser) -> list[LexborNode]:
    found = []
    for node in tree.css("[class], [id], marquee"):
        if node.tag in ("html", "body", "head", "script", "style", "a"):
            continue
        names = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
        named = _TICKER_NAME.search(names) and 0 < len(node.css("a[href]")) <= MAX_TICKER_LINKS
        if named or node.tag == "marquee":
            found.append(node)
    return found


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    chosen: list[LexborNode] = []
    for node in nodes:
        if not any(_contains(outer, node) for outer in chosen):
            chosen = [c for c in chosen if not _contains(node, c)]
            chosen.append(node)
    return chosen


def _contains(outer: LexborNode, inner: LexborNode) -> bool:
    parent = inner.parent
    while parent is not None:
        if parent.mem_id == outer.mem_id:
            return True
        parent = parent.parent
    return False


def _labelled_tickers(tree: LexborHTMLParser) -> list[LexborNode]:
    """Containers of links introduced by a non-link label such as «عاجل»."""
    found = []
    for label in tree.css("span, strong, b, div, h2, h3, h4, p, label, em, li"):
        text = label.text(deep=True, separator=" ").strip()
        if not text or len(text) > 20 or not is_urgent_label(text):
            continue
        if label.css_first("a") is not None or _inside_link(label):
            continue
        container = label.parent
        for _ in range(3):
            if container is None or container.tag in ("body", "html"):
                break
            links = [
                a
                for a in container.css("a[href]")
                if len(clean_text(a.text(deep=True))) >= _MIN_TITLE
            ]
            if links and len(links) <= MAX_TICKER_LINKS:
                found.append(container)
                break
            container = container.parent
    return _outermost(found)


def _inside_link(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == "a":
            return True
        parent = parent.parent
    return False


def _ticker_links(container: LexborNode, base_url: str) -> list[Link]:
    links = []
    for anchor in container.css("a[href]"):
        title = clean_text(anchor.text(deep=True, separator=" "))
        url = absolute_url(base_url, anchor.attributes.get("href"))
        if url and len(title) >= _MIN_TITLE and not is_urgent_label(title):
            links.append(Link(title, url))
    if links:
        return links
    # A text-only ticker (no links): each list item is a headline.
    for entry in container.css("li"):
        title = clean_text(entry.text(deep=True, separator=" "))
        if len(title) >= _MIN_TITLE and not is_urgent_label(title):
            links.append(Link(title, None))
    return links


def find_headlines(
    tree: LexborHTMLParser, base_url: str, selector: str | None = None
) -> list[Link]:
    nodes = _select(tree, selector) if selector else _select(tree, _HEADLINE_SELECTORS)
    links = []
    for node in nodes:
        anchor = node if node.tag == "a" else _enclosing_link(node)
        if anchor is None:
            anchor = node.css_first("a[href]")
        if anchor is None:
            continue
        url = absolute_url(base_url, anchor.attributes.get("href"))
        title = clean_text(node.text(deep=True, separator=" "))
        if url and len(title) >= _MIN_TITLE and same_site(url, base_url):
            links.append(Link(title, url))
        if len(links) >= MAX_HEADLINES:
            break
    return _unique(links)


def _enclosing_link(node: LexborNode) -> LexborNode | None:
    parent: LexborNode | None = node
    while parent is not None:
        if parent.tag == "a" and parent.attributes.get("href"):
            return parent
        parent = parent.parent
    return None


def _unique(links: list[Link]) -> list[Link]:
    seen: set[str] = set()
    out = []
    for link in links:
        key = link.url or link.title
        if key not in seen:
            seen.add(key)
            out.append(link)
    return out
