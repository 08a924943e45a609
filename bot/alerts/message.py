"""Composing outbox messages (alerts, broadcasts, digests) in the subscriber's language.

Messages are Telegram HTML with every interpolated value escaped. In Arabic, every line starts
with a right-to-left mark, so that a line opening with a Latin source name, a number or a
French headline keeps the message's right-to-left layout.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from bot.i18n import RLM, Language, translator
from storage.models import StoredItem

MAX_TEXT = 4096


@dataclass(frozen=True)
class Button:
    label: str
    url: str | None = None
    callback: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: HTML text, inline buttons, and how it should arrive."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    silent: bool = False
    preview: bool = False  # a link preview (for a single article)


def clock(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def lines(language: Language, *parts: str) -> str:
    """Join lines; in Arabic each starts with a right-to-left mark."""
    prefix = RLM if language == "ar" else ""
    return "\n".join(prefix + line for part in parts if part for line in part.split("\n"))


def summary_callback(item_id: int) -> str:
    return f"sum:{item_id}"


def alert_message(
    item: StoredItem, language: Language, zone: tzinfo, source_title: str, urgent: bool
) -> Outgoing:
    """«🔴 عاجل», the headline, source and local time; read and summary buttons."""
    t = translator(language)
    when = item.published_at or item.sort_at
    header = t("alert-header") if urgent else t("alert-header-new")
    text = lines(
        language,
        f"<b>{html.escape(header)}</b>",
        f"<b>{html.escape(item.title)}</b>",
        f"{html.escape(source_title)} · {html.escape(t('at-time', time=clock(when, zone)))}",
    )
    row = []
    if item.url:
        row.append(Button(t("button-read"), url=item.url))
    row.append(Button(t("button-summary"), callback=summary_callback(item.id)))
    return Outgoing(text, [row], silent=not urgent, preview=False)


def broadcast_message(body: str, language: Language) -> Outgoing:
    t = translator(language)
    return Outgoing(
        lines(language, f"<b>{html.escape(t('broadcast-header'))}</b>", html.escape(body))
    )


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


def digest_body(entries: list[DigestEntry]) -> str:
    return json.dumps([e.as_json() for e in entries], ensure_ascii=False)


def digest_message(body: str, language: Language, zone: tzinfo) -> Outgoing:
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
        title = html.escape(entry.title)
        if entry.url:
            title = f'<a href="{html.escape(entry.url, quote=True)}">{title}</a>'
        mark = "🔴 " if entry.urgent else "• "
        rows.append(f"{mark}{clock(entry.at, zone)} {title} — {html.escape(entry.source)}")
    text = fit(lines(language, *rows))
    return Outgoing(text, silent=True)


def fit(text: str, limit: int = MAX_TEXT) -> str:
    """Cut whole lines off the end until the text fits Telegram's limit (UTF-16 units).

    Counting the HTML source over-estimates the visible text, so what is kept always fits.
    """
    if _utf16(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for line in text.split("\n"):
        length = _utf16(line) + 1
        if size + length > limit - 2:
            break
        kept.append(line)
        size += length
    return "\n".join(kept) + "\n…"


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
