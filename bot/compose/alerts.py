"""What the sender delivers, composed: alerts, broadcasts, digests and the admins' notices.

Each is an `Outgoing` (bot.compose.outgoing) built from the pieces of bot.compose.lines, so it
fits Telegram's rules whatever the headline, the source or the broadcast text.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from bot.compose import callbacks
from bot.compose.limits import MAX_TEXT, clean_line, shorten, utf16_units, visible_units
from bot.compose.lines import clock, escaped, lines, link, one_line, shown_at
from bot.compose.links import safe_url
from bot.compose.outgoing import Button, Outgoing
from bot.i18n import Language, translator
from storage.models import StoredItem

# The longest headline an alert shows before its cut: a feed that puts a whole article in
# <title> (5,600 characters were seen) gives a readable alert, not a wall of text.
ALERT_HEADLINE = 600
NOTICE_TITLE = 300
NOTICE_REASON = 300


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
