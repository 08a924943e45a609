"""Composing outgoing messages: alerts, broadcasts, digests and admin notices, and `Outgoing`,
the one shape every text Ajil sends takes.

`Outgoing` itself guarantees what Telegram requires, whatever the composer put in it: the text
is cut to Telegram's limit (bot.compose.limits), every URL button holds a valid http(s) URI or
is left out (bot.compose.links), every callback is 1-64 bytes (bot.compose.callbacks). Texts
are Telegram HTML with every interpolated value cleaned and escaped; in Arabic each line starts
with a right-to-left mark and its left-to-right runs are isolated (bot.compose.bidi).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from bot.compose import callbacks
from bot.compose.bidi import rtl_lines
from bot.compose.limits import (
    ELLIPSIS,
    MAX_TEXT,
    clean,
    clean_line,
    fit_html,
    shorten,
    utf16_units,
    visible_text,
    visible_units,
)
from bot.compose.links import safe_url
from bot.i18n import Language, translator
from storage.models import StoredItem

__all__ = ["MAX_TEXT", "Button", "Outgoing", "fit", "lines"]

# The longest headline an alert shows before its cut: a feed that puts a whole article in
# <title> (5,600 characters were seen) gives a readable alert, not a wall of text.
ALERT_HEADLINE = 600
NOTICE_TITLE = 300
NOTICE_REASON = 300


@dataclass(frozen=True)
class Button:
    """An inline button: a link (`url`) or a callback (`callback`, from bot.compose.callbacks)."""

    label: str
    url: str | None = None
    callback: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: HTML text, inline buttons, and how it should arrive.

    Made to fit on construction: the text is cut to 4,096 UTF-16 units of visible text (with
    «…», tags balanced), a URL button whose URL cannot be made a valid http(s) URI is left
    out, and a callback over 64 bytes raises CallbackDataError (a bug in a composer: callback
    data comes from bot.compose.callbacks). A text with nothing visible becomes «…».
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    silent: bool = False
    preview: bool = False  # a link preview (for a single article)

    def __post_init__(self) -> None:
        text = fit_html(self.text, MAX_TEXT)
        if not visible_text(text).strip(" \n\u200e\u200f"):  # Telegram refuses an empty text
            text = ELLIPSIS
        object.__setattr__(self, "text", text)
        rows = [[b for b in (_checked_button(b) for b in row) if b] for row in self.buttons]
        object.__setattr__(self, "buttons", [row for row in rows if row])


def _checked_button(button: Button) -> Button | None:
    label = shorten(clean_line(button.label), 64) or "…"
    if button.url is not None:
        url = safe_url(button.url)
        return Button(label, url=url) if url else None
    if button.callback is not None:
        return Button(label, callback=callbacks.checked(button.callback))
    return None


def fit(text: str, limit: int = MAX_TEXT) -> str:
    """Telegram-HTML `text` cut to `limit` UTF-16 units of visible text (see fit_html)."""
    return fit_html(text, limit)


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


def alert_message(
    item: StoredItem, language: Language, zone: tzinfo, source_title: str, urgent: bool
) -> Outgoing:
    """«🔴 عاجل», the headline, source and local time; read and summary buttons.

    The headline is cut (at a word boundary, with «…») to what leaves the whole alert within
    Telegram's 4,096; the read button is there only if the item's link can be a valid URI.
    """
    t = translator(language)
    header = t("alert-header") if urgent else t("alert-header-new")
    source = one_line(source_title, 100)
    footer = f"{source} · {html.escape(t('at-time', time=clock(shown_at(item), zone)))}"

    def compose(headline: str) -> str:
        return lines(
            language,
            f"<b>{html.escape(header)}</b>",
            f"<b>{html.escape(headline, quote=False)}</b>",
            footer,
        )

    headline = shorten(clean_line(item.title), ALERT_HEADLINE) or "…"
    text = compose(headline)
    for _ in range(4):  # marks make the text longer than the headline: shrink, at most 4 times
        excess = visible_units(text) - MAX_TEXT
        if excess <= 0:
            break
        headline = shorten(headline, max(utf16_units(headline) - excess, 1))
        text = compose(headline)
    row = []
    url = safe_url(item.url)
    if url:
        row.append(Button(t("button-read"), url=url))
    row.append(Button(t("button-summary"), callback=callbacks.Summary(item.id).pack()))
    return Outgoing(text, [row], silent=not urgent, preview=False)


def broadcast_message(body: str, language: Language) -> Outgoing:
    t = translator(language)
    return Outgoing(lines(language, f"<b>{html.escape(t('broadcast-header'))}</b>", escaped(body)))


def admin_broken_notice(reason: str, title: str, language: Language = "ar") -> Outgoing:
    """What the admins are told when Telegram refuses an alert's content; it always fits,
    whatever the reason's and the title's length."""
    t = translator(language)
    text = t(
        "admin-broken-alert",
        reason=one_line(reason, NOTICE_REASON),
        title=one_line(title, NOTICE_TITLE),
    )
    return Outgoing(lines(language, text))


@dataclass(frozen=True)
class DigestEntry:
    title: str
    url: str | None
    source: str
    at: datetime
    urgent: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "at": self.at.isoformat(),
            "urgent": self.urgent,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DigestEntry:
        return cls(
            data["title"],
            data.get("url"),
            data["source"],
            datetime.fromisoformat(data["at"]),
            bool(data.get("urgent")),
        )

    @classmethod
    def of(cls, item: StoredItem, source: str) -> DigestEntry:
        """An item's digest line, at the time it is shown everywhere (`shown_at`)."""
        return cls(item.title, item.url, source, shown_at(item), item.urgent)


def digest_body(entries: list[DigestEntry]) -> str:
    return json.dumps([e.as_json() for e in entries], ensure_ascii=False)


def digest_message(body: str, language: Language, zone: tzinfo, now: datetime) -> Outgoing:
    """The daily digest. An entry's time is never after `now` (the digest was made from items
    already seen, so a later time can only be a site's clock running ahead)."""
    t = translator(language)
    entries = [DigestEntry.from_json(e) for e in json.loads(body)]
    if not entries:
        return Outgoing(
            lines(
                language, f"<b>{html.escape(t('digest-title'))}</b>", html.escape(t("digest-empty"))
            ),
            silent=True,
        )
    rows = [
        f"<b>{html.escape(t('digest-title'))}</b> · {html.escape(t.n('n-headlines', len(entries)))}"
    ]
    for entry in entries:
        title = link(one_line(entry.title, 300), entry.url)
        mark = "🔴 " if entry.urgent else "• "
        source = one_line(entry.source, 100)
        rows.append(f"{mark}{clock(min(entry.at, now), zone)} {title} — {source}")
    return Outgoing(lines(language, *rows), silent=True)
