"""Polling one source of any kind: rss, wordpress, html, or auto (feed and ticker found alone).

A `SourcePoller` remembers what it discovered (the feed of an `auto` site) between polls; the
conditional-GET validators of its main listing come from and go back to storage.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from bot.news import feeds, homepage, wordpress
from bot.news.encoding import decode
from bot.news.fetch import Fetched, Fetcher, FetchError, Validators
from bot.news.models import Item, PageReading, ParseError

log = logging.getLogger(__name__)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")


@dataclass(frozen=True)
class SourceSettings:
    name: str
    url: str
    kind: str  # auto | rss | wordpress | html
    timezone: tzinfo
    ticker_selector: str | None = None
    headline_selector: str | None = None


@dataclass(frozen=True)
class PollResult:
    items: list[Item]
    validators: Validators | None  # of the main listing, to keep for the next poll
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)
    # Which homepage block was taken as urgent, and by which label (see PageReading).
    urgent_block: str | None = None


class SourceError(Exception):
    """The source could not be read at all this time; `reason` names the cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourcePoller:
    def __init__(self, settings: SourceSettings, fetcher: Fetcher) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.feed_url: str | None = None  # what `auto` found
        self._discovered = False

    async def poll(self, validators: Validators | None, now: datetime) -> PollResult:
        """Fetch and parse the source once; raises SourceError when nothing could be read."""
        kind = self.settings.kind
        try:
            if kind == "rss":
                return await self._feed(self.settings.url, validators, now)
            if kind == "wordpress":
                return await self._wordpress(validators)
            if kind == "html":
                return await self._homepage(validators)
            return await self._auto(validators, now)
        except (FetchError, ParseError) as exc:
            raise SourceError(exc.reason) from None
        except Exception:
            # A parser bug or a page hostile enough to break one must not stop the other sources.
            log.exception("unexpected error while polling %s", self.settings.name)
            raise SourceError("unexpected error while reading the source (see the log)") from None

    async def _feed(self, url: str, validators: Validators | None, now: datetime) -> PollResult:
        fetched = await self.fetcher.fetch(url, validators)
        if fetched.not_modified:
            return PollResult([], fetched.validators, not_modified=True)
        # Parsing is CPU work: in a thread, so that the event loop keeps answering commands
        # and pacing alerts meanwhile.
        items = await asyncio.to_thread(self._parse_feed, fetched, now)
        return PollResult(items, fetched.validators)

    def _parse_feed(self, fetched: Fetched, now: datetime) -> list[Item]:
        text = decode(fetched.body, fetched.charset)
        return feeds.parse_feed(text, self.settings.name, fetched.url, self.settings.timezone, now)

    async def _wordpress(self, validators: Validators | None) -> PollResult:
        fetched = await self.fetcher.fetch(wordpress.posts_url(self.settings.url), validators)
        if fetched.not_modified:
            return PollResult([], fetched.validators, not_modified=True)
        items = await asyncio.to_thread(
            lambda: wordpress.parse_posts(
                decode(fetched.body, fetched.charset), self.settings.name, self.settings.url
            )
        )
        return PollResult(items, fetched.validators)

    async def _homepage(self, validators: Validators | None) -> PollResult:
        fetched = await self.fetcher.fetch(self.settings.url, validators)
        if fetched.not_modified:
            return PollResult([], fetched.validators, not_modified=True)
        items = await asyncio.to_thread(self._homepage_items, fetched)
        return PollResult(items, fetched.validators)

    def _homepage_items(self, fetched: Fetched) -> list[Item]:
        return self._read_homepage(fetched).items

    def _read_homepage(self, fetched: Fetched) -> PageReading:
        return homepage.parse_homepage(
            decode(fetched.body, fetched.charset),
            self.settings.name,
            fetched.url,
            self.settings.ticker_selector,
            self.settings.headline_selector,
        )

    async def _auto(self, validators: Validators | None, now: datetime) -> PollResult:
        # The homepage carries the ticker and tells where the feed is; fetched every time.
        page: Fetched | None = None
        warnings: list[str] = []
        try:
            page = await self.fetcher.fetch(self.settings.url)
        except FetchError as exc:
            if not self.feed_url:
                raise
            warnings.append(f"homepage: {exc.reason}")
        if page is not None and _is_feed(page):
            # The configured URL is itself a feed.
            items = await asyncio.to_thread(self._parse_feed, page, now)
            return PollResult(items, page.validators)
        ticker: list[Item] = []
        headlines: list[Item] = []
        if page is not None:
            try:
                for item in await asyncio.to_thread(self._homepage_items, page):
                    (ticker if item.from_ticker else headlines).append(item)
            except ParseError as exc:
                warnings.append(f"homepage: {exc.reason}")
            if not self._discovered:
                self.feed_url = await self._discover_feed(page)
                self._discovered = True
        if not self.feed_url:
            return PollResult(ticker + headlines, None, warnings=warnings)
        try:
            listing = await self._feed(self.feed_url, validators, now)
        except (FetchError, ParseError) as exc:
            if page is None:
                raise
            warnings.append(f"feed: {exc.reason}")
            return PollResult(ticker + headlines, None, warnings=warnings)
        return replace(
            listing, items=merge(ticker, listing.items), warnings=warnings + listing.warnings
        )

    async def _discover_feed(self, page: Fetched) -> str | None:
        """The feed a homepage announces (<link rel="alternate">), else /feed/ if it is one."""
        tree = LexborHTMLParser(decode(page.body, page.charset))
        for link in tree.css('link[rel~="alternate"][href]'):
            kind = (link.attributes.get("type") or "").lower()
            href = link.attributes.get("href") or ""
            if kind in _FEED_TYPES and "comments" not in href.lower():
                return urljoin(page.url, href)
        guess = urljoin(page.url, "/feed/")
        if urlsplit(guess).path == urlsplit(page.url).path:
            return None
        try:
            fetched = await self.fetcher.fetch(guess)
        except FetchError:
            return None
        return fetched.url if _is_feed(fetched) else None


def _is_feed(fetched: Fetched) -> bool:
    if fetched.content_type and any(t in fetched.content_type for t in ("rss", "atom", "xml")):
        return True
    return feeds.looks_like_feed(decode(fetched.body[:2048], fetched.charset))


def merge(ticker: list[Item], listing: list[Item]) -> list[Item]:
    """Ticker items first; an article in both is one item, urgent, with the feed's details."""
    by_uid = {item.uid: item for item in listing}
    merged: list[Item] = []
    seen: set[str] = set()
    for item in ticker:
        found = by_uid.get(item.uid)
        merged.append(replace(found, urgent=True, from_ticker=True) if found else item)
        seen.add(item.uid)
    merged.extend(item for item in listing if item.uid not in seen)
    return merged


async def poll_all(
    pollers: list[SourcePoller], validators: dict[str, Validators | None], now: datetime
) -> dict[str, PollResult | SourceError]:
    """Poll every source at once; one failing source never stops the others."""

    async def one(poller: SourcePoller) -> PollResult | SourceError:
        try:
            return await poller.poll(validators.get(poller.settings.name), now)
        except SourceError as exc:
            return exc

    results = await asyncio.gather(*(one(p) for p in pollers))
    return {p.settings.name: r for p, r in zip(pollers, results, strict=True)}
