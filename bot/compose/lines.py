"""The pieces of a message's text: untrusted text as one line of Telegram HTML, a headline as
a link, lines joined (right-to-left in Arabic), and the time shown for an item.

Every value that comes from a source or a user passes through `escaped` or `one_line` (or
`link` for its URL) before it is placed in a message.
"""

from __future__ import annotations

import html
from datetime import datetime, tzinfo

from bot.compose.bidi import rtl_lines
from bot.compose.limits import MAX_TEXT, clean, clean_line, fit_html, shorten
from bot.compose.links import safe_url
from bot.i18n import Language
from storage.models import StoredItem


def clock(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def shown_at(item: StoredItem) -> datetime:
    """The time shown for an item: the earlier of its published time and when Ajil first saw
    it (`sort_at` is stored as that earlier one), so that a site's clock running ahead never
    shows a time in the future."""
    if item.published_at is None:
        return item.sort_at
    return min(item.published_at, item.sort_at)


def lines(language: Language, *parts: str) -> str:
    """Join lines of Telegram HTML; in Arabic each starts with a right-to-left mark and its
    left-to-right runs are isolated. Empty parts are left out."""
    text = "\n".join(part for part in parts if part)
    if language != "ar":
        return text
    # Marks only add to the length: what is past Telegram's limit now would be cut anyway.
    return rtl_lines(fit_html(text, MAX_TEXT))


def escaped(text: str) -> str:
    """Untrusted text as Telegram HTML: cleaned (no controls, lone surrogates or direction
    controls) and escaped."""
    return html.escape(clean(text), quote=False)


def one_line(text: str, limit: int) -> str:
    """Untrusted text as one line of Telegram HTML of at most `limit` UTF-16 units (cut at a
    word with «…»): a headline in a list, a source's name, an error quoted."""
    return escaped(shorten(clean_line(text), limit))


def link(title_html: str, url: str | None) -> str:
    """`title_html` as a link to `url` when that can be a valid http(s) URI, else as it is."""
    safe = safe_url(url)
    if safe is None:
        return title_html
    return f'<a href="{html.escape(safe, quote=True)}">{title_html}</a>'
