"""What `ajil probe` found, and how it is shown: the lines for a terminal, one JSON object, and
the `[[sources]]` blocks as TOML (bot/probe.py finds it all)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Literal

from bot.news.models import Item
from bot.news.pushscript import PushBinding

HEADLINES_SHOWN = 5
DEFAULT_MESSAGE_FIELD = "message"  # the pusher source's default (issue 15)
NEEDS_RENDER = "needs render = true"
# The first line of a report when nothing usable was found (exit status 1).
FAILED = "NOTHING USABLE FOUND (exit status 1)"
PASTE = "# paste into config.toml:"
TRY_RENDERED = (
    "# nothing usable as served; to try reading it rendered, paste into config.toml "
    "and check with `ajil fetch`:"
)
Table = dict[str, str | bool]  # one [[sources]] table, keys in the order printed


@dataclass(frozen=True)
class Listing:
    """Where the headlines come from: a feed or a WordPress REST endpoint, how it was found
    ("announced by the page", "guessed at /feed/", "the URL itself"), and why it could not
    be read (`error`, None when it was)."""

    kind: Literal["feed", "wordpress"]
    url: str
    found: str
    error: str | None = None


@dataclass(frozen=True)
class Conditional:
    """What the polled URL gave to ask "has it changed?", and whether asking worked:
    `answers_304` None when it gave nothing to ask with (or the second request failed:
    `error`)."""

    url: str
    etag: str | None
    last_modified: str | None
    answers_304: bool | None
    error: str | None = None

    def describe(self) -> str:
        if not (self.etag or self.last_modified):
            return f"{self.url}: no ETag nor Last-Modified; every poll downloads it whole"
        given = " and ".join(
            name for name, v in (("ETag", self.etag), ("Last-Modified", self.last_modified)) if v
        )
        if self.error:
            return f"{self.url}: gives {given}; the conditional request failed ({self.error})"
        answer = (
            "answers 304 Not Modified when nothing changed"
            if self.answers_304
            else "yet answers a conditional request with the whole body again"
        )
        return f"{self.url}: gives {given}, {answer}"


@dataclass(frozen=True)
class Urgent:
    """The homepage's urgent block: which one and by which label (`block`), its entries'
    titles, whether it is empty in the HTML, and the ticker-named blocks not taken and why."""

    block: str | None
    titles: list[str]
    empty: bool
    passed_over: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.block is None:
            why = "no block on the page is labelled urgent («عاجل», Breaking, Dernière minute...)"
            if self.passed_over:
                why += "; not urgent: " + "; ".join(self.passed_over)
            return f"none ({why})"
        if self.empty:
            return f"{self.block}, empty in the page (a script fills it)"
        return f"{self.block}, {len(self.titles)} entr{'y' if len(self.titles) == 1 else 'ies'}"


@dataclass(frozen=True)
class Report:
    """What `ajil probe` found; `sources` are the `[[sources]]` tables to paste (key order
    kept), `reason` why nothing usable was found (None when something was)."""

    url: str
    page_url: str | None
    page: str  # what the page is, in words
    encoding: str | None
    listing: Listing | None
    urgent: Urgent
    push: PushBinding | None
    render: str | None  # why render = true is needed, None when it is not
    headlines: list[Item]
    headline_count: int
    conditional: Conditional | None
    warnings: list[str]
    sources: list[Table]
    reason: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.reason is None

    def toml(self) -> str:
        """The `[[sources]]` blocks, TOML, ready to paste."""
        return "\n".join(
            "[[sources]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
            for table in self.sources
        )

    def lines(self, zone: tzinfo) -> list[str]:
        """The report for a terminal, in English, one fact a line. When nothing usable was
        found (`ajil probe` exits 1) the first line says so, and a block printed (a page to
        render) is offered to try, not to paste as it is."""
        out = []
        if self.reason is not None:
            out.append(f"{FAILED}: {self.reason}")
        out.append(f"site: {self.page_url or self.url} ({self.page})")
        if self.encoding:
            out.append(f"encoding: {self.encoding}")
        if self.listing:
            name = "feed" if self.listing.kind == "feed" else "WordPress REST API"
            line = f"{name}: {self.listing.url} ({self.listing.found})"
            if self.listing.error:
                line += f", but it failed ({self.listing.error}): the homepage's headlines are used"
            out.append(line)
        else:
            out.append("feed: none found (no feed nor REST API announced, none at /feed/)")
        out.append(f"urgent block: {self.urgent.describe()}")
        for title in self.urgent.titles[:HEADLINES_SHOWN]:
            out.append(f"  urgent: {title}")
        if self.push:
            read = self.push.message_field
            field_read = f'"{read}" field' if read else "whole data"
            out.append(
                f"push channel: Pusher {self.push.describe()}; the script writes each event's "
                f"{field_read} into {', '.join(self.push.targets)}"
            )
        if self.render:
            out.append(f"{NEEDS_RENDER}: {self.render}")
        count = f"headlines it would take: {self.headline_count}"
        if self.headline_count > len(self.headlines):
            count += f"; the first {len(self.headlines)}:"
        out.append(count)
        for item in self.headlines:
            when = (
                item.published.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                if item.published
                else "-"
            )
            flag = "URGENT " if item.urgent else ""
            out.append(f"  {when}  {flag}{item.title}  {item.url or ''}")
        if self.conditional:
            out.append(f"conditional GET: {self.conditional.describe()}")
        for warning in self.warnings:
            out.append(f"warning: {warning}")
        for note in self.notes:
            out.append(f"note: {note}")
        if self.sources:
            header = PASTE if self.usable else TRY_RENDERED
            out += ["", header, self.toml().rstrip("\n")]
        return out

    def as_json(self) -> dict[str, Any]:
        push = self.push
        return {
            "url": self.url,
            "page_url": self.page_url,
            "page": self.page,
            "encoding": self.encoding,
            "listing": (
                {
                    "kind": self.listing.kind,
                    "url": self.listing.url,
                    "found": self.listing.found,
                    "error": self.listing.error,
                }
                if self.listing
                else None
            ),
            "urgent_block": self.urgent.block,
            "urgent_titles": self.urgent.titles,
            "urgent_empty": self.urgent.empty,
            "not_urgent": list(self.urgent.passed_over),
            "push": (
                {
                    "key": push.key,
                    "cluster": push.cluster,
                    "ws_url": push.ws_url,
                    "channel": push.channel,
                    "event": push.event,
                    "message_field": push.message_field,
                    "targets": list(push.targets),
                }
                if push
                else None
            ),
            "render": self.render,
            "headlines": [
                {
                    "title": i.title,
                    "url": i.url,
                    "published": i.published.isoformat() if i.published else None,
                    "urgent": i.urgent,
                }
                for i in self.headlines
            ],
            "headline_count": self.headline_count,
            "conditional_get": (
                {
                    "url": self.conditional.url,
                    "etag": self.conditional.etag,
                    "last_modified": self.conditional.last_modified,
                    "answers_304": self.conditional.answers_304,
                }
                if self.conditional
                else None
            ),
            "warnings": self.warnings,
            "sources": self.sources,
            "toml": self.toml(),
            "usable": self.usable,
            "reason": self.reason,
        }


def _toml_value(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # A JSON string is a TOML basic string (TOML 1.0, "String": the same escapes).
    return json.dumps(value, ensure_ascii=False)
