"""What a homepage announces about itself: its feed and its WordPress REST API.

`auto` sources read their headlines from one of these when the site has one (a listing with
dates, categories and conditional GET), and keep reading the homepage for its urgent block.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from bot.news import wordpress

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
REST_REL = "https://api.w.org/"


@dataclass(frozen=True)
class Announced:
    """The main feed (`<link rel="alternate">` of a feed type, not the comments feed) and the
    REST posts endpoint (from `<link rel="https://api.w.org/">`), absolute, or None."""

    feed_url: str | None = None
    rest_url: str | None = None


def announced(html: str, page_url: str) -> Announced:
    """What the page's <link> elements announce; never raises."""
    tree = LexborHTMLParser(html)
    feed: str | None = None
    rest: str | None = None
    for link in tree.css("link[rel][href]"):
        rels = (link.attributes.get("rel") or "").lower().split()
        href = (link.attributes.get("href") or "").strip()
        kind = (link.attributes.get("type") or "").lower()
        is_feed = "alternate" in rels and kind in FEED_TYPES
        if feed is None and is_feed and "comments" not in href.lower():
            feed = urljoin(page_url, href)
        if rest is None and REST_REL in rels:
            rest = wordpress.posts_url_from_api(urljoin(page_url, href))
    return Announced(feed, rest)
