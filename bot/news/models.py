"""What news processing produces: items found on a source, and articles read in full."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.news.bounds import MAX_SUMMARY, MAX_TITLE, bounded_text
from bot.news.errors import ParseError as ParseError  # re-exported: parsers import it from here
from bot.news.identity import stable_id
from bot.news.pushscript import PushBinding


@dataclass(frozen=True)
class Item:
    """A headline as a source lists it (feed entry, REST post, ticker or homepage link)."""

    source: str
    title: str
    url: str | None
    published: datetime | None = None
    urgent: bool = False
    guid: str | None = None
    summary: str | None = None
    image: str | None = None
    categories: tuple[str, ...] = ()
    from_ticker: bool = False

    def __post_init__(self) -> None:
        # Every kind of source makes Items: bounding them here bounds them all.
        object.__setattr__(self, "title", bounded_text(self.title, MAX_TITLE))
        if self.summary is not None:
            object.__setattr__(self, "summary", bounded_text(self.summary, MAX_SUMMARY) or None)

    @property
    def uid(self) -> str:
        return stable_id(self.source, self.url, self.guid, self.title)


@dataclass(frozen=True)
class PageReading:
    """What one homepage yields: its items, and what an operator needs to know about them.

    `urgent_block` says which block was taken as urgent and by which label (shown by
    `ajil fetch`), None when the page has no urgent block. `notes` are reasons the page gave
    less than it should ("urgent block is empty in the page: its script fills it"), each a
    short English phrase that ends up as a source warning. `push` is the push channel the
    page's script fills its urgent block from (bot.news.pushscript), if one was found;
    `passed_over` the blocks named like a ticker that were not taken as urgent, and why.
    """

    items: list[Item]
    urgent_block: str | None = None
    notes: tuple[str, ...] = ()
    push: PushBinding | None = None
    passed_over: tuple[str, ...] = ()


@dataclass(frozen=True)
class Article:
    """An article page read in full: metadata and the body as paragraphs."""

    url: str | None
    title: str | None
    published: datetime | None
    image: str | None
    author: str | None
    paragraphs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)
