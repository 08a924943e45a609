"""A message pushed on a site's live channel, read as the urgent bar's entry it becomes.

Sites such as kifache push each breaking story as an HTML fragment (`data.message`) that their
script appends to the empty urgent bar. The fragment is read with the homepage's own bar reader
(bot.news.ticker.block_entries): its links' titles, else its text items; a fragment that is
only text is one entry. Links resolve against the site's homepage; an entry without a usable
link gets the site's front page as its URL, and so its id from its normalized text
(bot.news.identity.stable_id). So does an entry whose link leaves the site (another host than
the source's own or one of its subdomains): an alert's «read» button opens the source's site,
never an address a pushed message chose. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from bot.news.markup import bounded_nesting
from bot.news.models import Item, ParseError
from bot.news.outline import outline
from bot.news.ticker import MAX_TICKER_LINKS, block_entries
from bot.news.urgency import label_kind, title_urgency

_WRAPPER = "ajil-pushed"
# Pusher's hosted service caps an event at 10 KB; other servers allow more. A bar's entry is
# a line or two: anything this large is not one.
MAX_MESSAGE_BYTES = 64 * 1024
# Elements whose content is code or hidden markup, never the text a reader sees in the bar.
_NOT_TEXT = ["script", "style", "noscript", "template"]


def on_site(url: str, site_url: str) -> bool:
    """Whether `url` is on the site of `site_url`: the same host, or one of its subdomains
    (`www.` ignored on both). Another host, a parent domain (example.com for a source on
    news.example.com), or a malformed URL is off-site."""
    try:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        site = (urlsplit(site_url).hostname or "").removeprefix("www.")
    except ValueError:
        return False
    return bool(host) and bool(site) and (host == site or host.endswith("." + site))


def message_of(data: Any, field: str) -> str:
    """The message in a pushed event's `data`, at `field` (a key, or a dotted path such as
    `payload.html`).

    `data` is the event's data as the protocol carries it: a JSON text (Pusher protocol 7
    sends a string), already decoded JSON, or a plain string, which is the message itself.
    Raises ParseError naming what is there instead.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return str(data)  # not JSON: the text is the message
    if isinstance(data, str):
        return str(data)
    value: Any = data
    for part in field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            keys = ", ".join(sorted(map(str, value))[:8]) if isinstance(value, Mapping) else ""
            found = f"its keys: {keys}" if keys else f"it is {type(value).__name__}"
            raise ParseError(f"no {field!r} in the pushed data ({found}); set message_field")
        value = value[part]
    if not isinstance(value, str):
        raise ParseError(f"{field!r} in the pushed data is {type(value).__name__}, not text")
    return value


def pushed_items(message: str, source: str, site_url: str) -> list[Item]:
    """The urgent items of one pushed message (HTML fragment or text), in their order.

    Each is urgent and `from_ticker` (it is the bar's entry), undated (the push is its time),
    its title without an urgent marker («عاجل: ...»). A link off the site of `site_url`
    (on_site) is dropped: the entry points to the site's front page, its id from its text, as
    an entry without a link. Empty for a message with no readable
    entry (empty, or only a label). Raises ParseError for a message too large to be an entry.
    """
    if len(message.encode("utf-8", "replace")) > MAX_MESSAGE_BYTES:
        raise ParseError("pushed message too large")
    html = f'<div class="{_WRAPPER}">{message}</div>'
    tree = LexborHTMLParser(bounded_nesting(html))
    tree.strip_tags(_NOT_TEXT)
    wrapper = tree.css_first(f"div.{_WRAPPER}")
    if wrapper is None:
        return []
    page = outline(tree)
    block = page.index_of[wrapper.mem_id]
    entries = block_entries(page, block, site_url, chosen=True)
    site = urljoin(site_url, "/")
    items: list[Item] = []
    seen: set[str] = set()
    if entries:
        pairs = [(e.title, e.url) for e in entries[:MAX_TICKER_LINKS]]
    else:
        # A short flash («زلزال بقوة 5 درجات») is shorter than a bar's usual entries, and
        # still the whole message.
        text = page.text(block)
        pairs = [(text, None)] if text and label_kind(text) is None else []
    for title, url in pairs:
        _, title = title_urgency(title)
        if url is not None and not on_site(url, site_url):
            url = None
        item = Item(source, title, url or site, urgent=True, from_ticker=True)
        if item.title and item.uid not in seen:
            seen.add(item.uid)
            items.append(item)
    return items
