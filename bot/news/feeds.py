"""RSS 0.9x/1.0/2.0 and Atom feeds, through feedparser, into Items.

feedparser only ever gets bytes in a file object: handed a str or bytes, it takes a body that
looks like a URL or a file path for one and fetches or opens it; handed a str, it re-encodes it
and trusts a declaration that no longer matches.
"""

from __future__ import annotations

import calendar
import io
from datetime import UTC, datetime, tzinfo
from typing import Any

import feedparser

from bot.news.dates import parse_date
from bot.news.encoding import utf8_document
from bot.news.markup import absolute_url, clean_text
from bot.news.models import Item, ParseError
from bot.news.urgency import is_urgent_label, title_urgency

MAX_ITEMS = 100


def looks_like_feed(text: str) -> bool:
    head = text[:2048].lstrip().lower()
    return head.startswith("<?xml") or "<rss" in head or "<feed" in head or "<rdf:rdf" in head


def parse_feed(
    text: str, source: str, base_url: str, tz: tzinfo, now: datetime | None = None
) -> list[Item]:
    """The feed's newest items (at most MAX_ITEMS), newest first; raises ParseError for what is
    not a feed.

    `text` is the decoded feed (bot.news.encoding.decode). Dated items are put in date order
    before the cap, so that a feed listing hundreds of items oldest first still yields its
    newest ones; undated items keep their place among them.
    """
    document = io.BytesIO(utf8_document(text))
    parsed = feedparser.parse(document, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries:
        if parsed.get("bozo"):
            reason = str(parsed.get("bozo_exception") or "not well-formed")
            raise ParseError(f"malformed feed ({reason[:80]})")
        if not parsed.get("version") and not parsed.feed:
            raise ParseError("not an RSS or Atom feed")
        return []
    items = []
    for entry in parsed.entries:
        item = _item(entry, source, base_url, tz, now)
        if item is not None:
            items.append(item)
    return newest_first(items)[:MAX_ITEMS]


def newest_first(items: list[Item]) -> list[Item]:
    """The items newest first: listing order turned round when the dated ones ascend, then the
    dated ones sorted by date in the places dated items held (undated items stay put)."""
    dated = [i for i in items if i.published is not None]
    if len(dated) >= 2 and _ts(dated[0]) < _ts(dated[-1]):
        items = items[::-1]  # oldest first: the undated ones at the end are the newest
    slots = [n for n, i in enumerate(items) if i.published is not None]
    ordered = sorted((items[n] for n in slots), key=_ts, reverse=True)
    out = list(items)
    for n, item in zip(slots, ordered, strict=True):
        out[n] = item
    return out


def _ts(item: Item) -> float:
    assert item.published is not None
    return item.published.timestamp()


def _item(entry: Any, source: str, base: str, tz: tzinfo, now: datetime | None) -> Item | None:
    raw_title = clean_text(entry.get("title"))
    if not raw_title:
        return None
    urgent, title = title_urgency(raw_title)
    categories = tuple(
        clean_text(tag.get("term") or tag.get("label")) for tag in entry.get("tags", []) or []
    )
    urgent = urgent or any(is_urgent_label(c) for c in categories if c)
    return Item(
        source=source,
        title=title,
        url=absolute_url(base, entry.get("link")),
        published=_published(entry, tz, now),
        urgent=urgent,
        guid=entry.get("id") or None,
        summary=clean_text(entry.get("summary")) or None,
        image=_image(entry, base),
        categories=tuple(c for c in categories if c),
    )


def _published(entry: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    for key in ("published", "updated", "created"):
        # dict.get: feedparser's own lookup maps "published" to "updated" with a warning.
        raw = dict.get(entry, key)
        if raw:
            moment = parse_date(raw, tz, now)
            if moment is not None:
                return moment
        parsed = dict.get(entry, f"{key}_parsed")
        if parsed:
            # feedparser's own reading, already converted to UTC.
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


def _image(entry: Any, base: str) -> str | None:
    for media in (entry.get("media_content") or []) + (entry.get("media_thumbnail") or []):
        url = absolute_url(base, media.get("url"))
        if url and media.get("medium", "image") == "image":
            return url
    for link in entry.get("links", []) or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return absolute_url(base, link.get("href"))
    return None
