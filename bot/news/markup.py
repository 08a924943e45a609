"""Small helpers over HTML fragments: visible text of a snippet, absolute links."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

_SPACES = re.compile(r"\s+")


def clean_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment or entity-escaped string, on one line."""
    if not fragment:
        return ""
    if "<" in fragment:
        root = LexborHTMLParser(f"<div>{fragment}</div>").body
        fragment = root.text(separator=" ") if root is not None else fragment
    return _SPACES.sub(" ", html.unescape(fragment)).strip()


def absolute_url(base: str, href: str | None) -> str | None:
    """`href` resolved against `base`, if it is an http(s) link to a page."""
    if not href:
        return None
    href = href.strip()
    if href.startswith(("javascript:", "mailto:", "tel:", "#", "whatsapp:")):
        return None
    try:
        url = urljoin(base, href)
        return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname else None
    except ValueError:  # "http://[::1": a malformed link is no link
        return None


def same_site(a: str, b: str) -> bool:
    try:
        host_a = (urlsplit(a).hostname or "").removeprefix("www.")
        host_b = (urlsplit(b).hostname or "").removeprefix("www.")
    except ValueError:
        return False
    return bool(host_a) and (
        host_a == host_b or host_a.endswith("." + host_b) or host_b.endswith("." + host_a)
    )
