"""Stable ids for items: the canonical URL, else the guid, else source plus normalized title."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from bot.news.text import normalize

# Query parameters that track the reader and never change the page.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "_ga", "_gl", "hsa_", "oly_")
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "ref",
        "ref_src",
        "src",
        "source",
        "amp",
        "cmpid",
        "ito",
        "ns_mchannel",
        "ns_source",
        "share",
        "spm",
        "at_medium",
        "at_campaign",
        "xtor",
        "wt_mc",
        "s_cid",
        "output",
        "from",
        "feed",
    }
)
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"


def canonical_url(url: str) -> str:
    """The URL with what does not name the page removed.

    Scheme, default port, "www.", fragment, tracking parameters and a trailing slash go; the host
    is lowercased; the path's percent-encoding is made uniform, so that an Arabic slug written
    raw in one feed and percent-encoded in another page gives the same URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a malformed host or port: keep the text as it is
        return url.strip()
    host = (parts.hostname or "").lower().removeprefix("www.")
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_SAFE_PATH) or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    query.sort()
    text = f"{host}{path}"
    if query:
        text += "?" + urlencode(query, quote_via=quote, safe=_SAFE_PATH)
    return text


def _is_web(url: str) -> bool:
    try:
        return urlsplit(url).scheme in ("http", "https")
    except ValueError:
        return False


def names_one_page(url: str) -> bool:
    """A web URL that can stand for one item: not a site's front page (bare host, "/", or
    "/index.html"), which text-only ticker entries carry for lack of a link of their own."""
    if not _is_web(url):
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    path = parts.path.strip("/").lower()
    return bool(parts.query) or path not in ("", "index.html", "index.htm", "index.php")


def stable_id(source: str, url: str | None, guid: str | None, title: str) -> str:
    """One id per item, the same whichever listing (feed, ticker, homepage) it came from.

    The canonical URL when it names one page, else the guid, else the source and the
    normalized title. A site's front page names no item: the entries of a text-only urgent
    bar all carry it as their URL, and each needs an id of its own (from its text).
    """
    if url and names_one_page(url):
        return "url:" + canonical_url(url)
    if guid and guid.strip():
        guid = guid.strip()
        if _is_web(guid):
            return "url:" + canonical_url(guid)
        return f"guid:{source}:{guid}"
    return f"title:{source}:{normalize(title)}"


def stored_url(url: str | None, uid: str) -> str | None:
    """The address an item is kept under: its own URL when it names one page; for an entry
    without a page of its own (a text-only urgent bar's entry, a pushed text, a JSON ticker
    entry without a link: all carry the site's front page) the front page with a fragment made
    from the item's id (12 hex digits of its SHA-256).

    Storage keeps one item per address (items.url is UNIQUE), so without the fragment every
    link-less entry after the first was taken for the first and never alerted; the fragment
    tells them apart and the link still opens the front page (a fragment that names no element
    scrolls nowhere, RFC 3986 section 3.5).
    """
    if not url or names_one_page(url):
        return url  # None: an item without any address (a feed entry without a link)
    digest = hashlib.sha256(uid.encode("utf-8")).hexdigest()[:12]
    return f"{url.split('#', 1)[0]}#{digest}"
