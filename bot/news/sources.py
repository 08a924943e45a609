"""Polling one source of any kind: rss, wordpress, html, or auto (feed or REST API and urgent
block found alone).

A `SourcePoller` remembers what it discovered (the feed or REST API of an `auto` site) between
polls; the conditional-GET validators of its main listing come from and go back to storage.
A poll that reads nothing, or less than it should, says why in `PollResult.warnings`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from bot.news import discovery, feeds, homepage, jsonticker, pagekind, wordpress
from bot.news.article import published_time
from bot.news.bounds import check_html, parse_off_loop
from bot.news.dates import latest_possible
from bot.news.encoding import decode
from bot.news.fetch import Fetched, Fetcher, FetchError, Validators
from bot.news.freshness import date_from_url
from bot.news.homepage import PUSH_NOTE_START
from bot.news.identity import canonical_url, names_one_page
from bot.news.models import Item, PageReading, ParseError
from bot.news.render import PageRenderer, RenderError
from bot.news.ticker import EMPTY_BLOCK_NOTE

log = logging.getLogger(__name__)
NO_HEADLINES = "no headlines found"
MAX_PAGE_HOPS = 3  # meta refreshes and redirect bodies followed, on top of HTTP redirects
NO_RENDERER = "render = true, but this process has no browser to render with"
STILL_EMPTY_NOTE = (
    "urgent block is still empty after the page's scripts ran: something fills it later "
    "(a push channel? see ajil probe)"
)


@dataclass(frozen=True)
class SourceSettings:
    name: str
    url: str
    kind: str  # auto | rss | wordpress | html | json | pusher (polled as auto)
    timezone: tzinfo
    ticker_selector: str | None = None
    headline_selector: str | None = None
    render: bool = False  # html and auto: read the page after its scripts ran
    ticker: jsonticker.TickerMapping | None = None  # json: where the entries are


@dataclass(frozen=True)
class PollResult:
    items: list[Item]
    validators: Validators | None  # of the main listing, to keep for the next poll
    not_modified: bool = False
    # Why the poll gave less than it should, each a short English phrase ("no headlines
    # found", "page looks like a bot challenge (...)"): shown by `ajil fetch`, kept as the
    # source's state, and an admin incident when it lasts.
    warnings: list[str] = field(default_factory=list)
    # Which homepage block was taken as urgent, and by which label (see PageReading).
    urgent_block: str | None = None
    # The uids of a dated listing (feed or REST API), newest first: an unseen item listed
    # below stored ones is old news re-listed, not breaking.
    listed: tuple[str, ...] = ()

    @property
    def warning(self) -> str | None:
        """The warnings as one line ("a; b"), each once; None when there is none."""
        return "; ".join(dict.fromkeys(self.warnings)) or None


class SourceError(Exception):
    """The source could not be read at all this time; `reason` names the cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Page:
    fetched: Fetched
    html: str
    kind: pagekind.PageKind


# How a homepage is read: bot.news.homepage.parse_homepage's signature (html, source, url,
# ticker_selector, headline_selector, the source's zone, the poll's time).
HomepageReader = Callable[
    [str, str, str, str | None, str | None, tzinfo, datetime | None], PageReading
]


class SourcePoller:
    def __init__(
        self,
        settings: SourceSettings,
        fetcher: Fetcher,
        read_homepage: HomepageReader = homepage.parse_homepage,
        renderer: PageRenderer | None = None,
    ) -> None:
        """`renderer`: the shared browser, for a `render = true` source (bot.news.render)."""
        self.settings = settings
        self.fetcher = fetcher
        self.read_homepage = read_homepage
        self.renderer = renderer
        self.feed_url: str | None = None  # what `auto` found
        self.rest_url: str | None = None
        self._discovered = False
        self._guessed = False  # /feed/ tried while the homepage could not be read

    async def poll(self, validators: Validators | None, now: datetime) -> PollResult:
        """Fetch and parse the source once; raises SourceError when nothing could be read."""
        kind = self.settings.kind
        try:
            if kind == "rss":
                result = await self._feed(self.settings.url, validators, now)
            elif kind == "wordpress":
                result = await self._wordpress(wordpress.posts_url(self.settings.url), validators)
            elif kind == "html":
                result = await self._homepage(validators, now)
            elif kind == "json":
                result = await self._json(validators)
            else:
                result = await self._auto(validators, now)
        except (FetchError, ParseError) as exc:
            raise SourceError(exc.reason) from None
        except RenderError as exc:
            raise SourceError(f"render: {exc.reason}") from None
        except Exception:
            # A parser bug or a page hostile enough to break one must not stop the other sources.
            log.exception("unexpected error while polling %s", self.settings.name)
            raise SourceError("unexpected error while reading the source (see the log)") from None
        if kind == "pusher":
            # Polled as `auto`; its urgent bar is empty in the page because the push channel
            # fills it, which is no fault of the page.
            kept = [
                w
                for w in result.warnings
                if w != EMPTY_BLOCK_NOTE and not w.startswith(PUSH_NOTE_START)
            ]
            result = replace(result, warnings=kept)
        # An empty JSON ticker is the usual state of a breaking-news endpoint, not a fault.
        if not result.items and not result.not_modified and not result.warnings and kind != "json":
            result = replace(result, warnings=[NO_HEADLINES])
        return result

    # -- listings --------------------------------------------------------------------------

    async def _feed(self, url: str, validators: Validators | None, now: datetime) -> PollResult:
        fetched = await self.fetcher.fetch(url, validators)
        if fetched.not_modified:
            return PollResult([], fetched.validators, not_modified=True)
        # Parsing is CPU work: in a thread, so that the event loop keeps answering commands
        # and pacing alerts meanwhile.
        items = await parse_off_loop(lambda: self._parse_feed(fetched, now))
        return _listing(items, fetched.validators)

    def _parse_feed(self, fetched: Fetched, now: datetime) -> list[Item]:
        text = decode(fetched.body, fetched.charset)
        return feeds.parse_feed(text, self.settings.name, fetched.url, self.settings.timezone, now)

    async def _wordpress(self, url: str, validators: Validators | None) -> PollResult:
        fetched = await self.fetcher.fetch(url, validators)
        if fetched.not_modified:
            return PollResult([], fetched.validators, not_modified=True)
        items = await parse_off_loop(
            lambda: wordpress.parse_posts(
                decode(fetched.body, fetched.charset), self.settings.name, self.settings.url
            )
        )
        return _listing(items, fetched.validators)

    async def _json(self, validators: Validators | None) -> PollResult:
        fetched = await self.fetcher.fetch(self.settings.url, validators)
        if fetched.not_modified:
            return PollResult([], fetched.validators, not_modified=True)
        mapping = self.settings.ticker or jsonticker.TickerMapping()
        reading = await parse_off_loop(
            lambda: jsonticker.parse_ticker(
                decode(fetched.body, fetched.charset),
                mapping,
                self.settings.name,
                fetched.url,
                self.settings.timezone,
            )
        )
        # No `listed`: a ticker's order is the site's choice, and an undated entry added
        # below the others is still news.
        where = f'"{mapping.items}"' if mapping.items else "the top level"
        return PollResult(
            reading.items,
            fetched.validators,
            warnings=reading.warnings,
            urgent_block=f"JSON ticker at {where}, every entry urgent" if mapping.urgent else None,
        )

    # -- homepages -------------------------------------------------------------------------

    async def _page(self, url: str, validators: Validators | None = None) -> _Page:
        """The page at `url`, following meta refreshes and redirect bodies (MAX_PAGE_HOPS)."""
        if self.settings.render:
            # What its scripts show can change while its HTML does not: no conditional GET.
            validators = None
        fetched = await self.fetcher.fetch(url, validators)
        for _ in range(MAX_PAGE_HOPS + 1):
            if fetched.not_modified:
                return _Page(fetched, "", pagekind.PageKind("news"))
            html = decode(fetched.body, fetched.charset)
            if _is_feed(fetched):
                return _Page(fetched, html, pagekind.PageKind("news"))
            # Before any HTML parser sees it: lexbor's time grows with the square of the depth.
            check_html(html)
            kind = await parse_off_loop(pagekind.classify, html, fetched.status, fetched.url)
            if kind.kind not in ("refresh", "redirect") or not kind.target:
                return _Page(fetched, html, kind)
            log.debug("%s: %s, to %s", self.settings.name, kind.reason, kind.target)
            if kind.target == fetched.url:
                return _Page(fetched, html, kind)
            fetched = await self.fetcher.fetch(kind.target)
        raise FetchError(f"more than {MAX_PAGE_HOPS} meta refreshes or redirect pages")

    async def _rendered(self, page: _Page) -> _Page:
        """`page` after its scripts ran in the browser (a news page or a script shell only: a
        challenge or a redirect stub is read as it is). Raises RenderError."""
        if not self.settings.render or page.fetched.not_modified:
            return page
        if page.kind.kind not in ("news", "shell") or _is_feed(page.fetched):
            return page
        if self.renderer is None:
            raise RenderError(NO_RENDERER)
        fetched = page.fetched
        rendered = await self.renderer.render(
            fetched.url, fetched.body, fetched.content_type, fetched.charset
        )
        check_html(rendered.html)
        kind = await parse_off_loop(pagekind.classify, rendered.html, fetched.status, fetched.url)
        return _Page(fetched, rendered.html, kind)

    def _read_homepage(self, page: _Page, now: datetime) -> PageReading:
        reading = self.read_homepage(
            page.html,
            self.settings.name,
            page.fetched.url,
            self.settings.ticker_selector,
            self.settings.headline_selector,
            self.settings.timezone,
            now,
        )
        if self.settings.render and EMPTY_BLOCK_NOTE in reading.notes:
            notes = tuple(STILL_EMPTY_NOTE if n == EMPTY_BLOCK_NOTE else n for n in reading.notes)
            reading = replace(reading, notes=notes)
        return reading

    async def _homepage(self, validators: Validators | None, now: datetime) -> PollResult:
        page = await self._rendered(await self._page(self.settings.url, validators))
        if page.fetched.not_modified:
            return PollResult([], page.fetched.validators, not_modified=True)
        if page.kind.kind in ("challenge", "redirect", "refresh"):
            return PollResult([], page.fetched.validators, warnings=[page.kind.reason])
        reading = await parse_off_loop(lambda: self._read_homepage(page, now))
        warnings = list(reading.notes)
        if not reading.items:
            warnings.append(page.kind.reason or NO_HEADLINES)
        return PollResult(
            reading.items,
            page.fetched.validators,
            warnings=warnings,
            urgent_block=reading.urgent_block,
        )

    async def _auto(self, validators: Validators | None, now: datetime) -> PollResult:
        # The homepage carries the urgent block and tells where the listing is; fetched every
        # time. Its headlines are used only when the site has no feed nor REST API.
        page: _Page | None = None
        warnings: list[str] = []
        try:
            page = await self._page(self.settings.url)
        except FetchError as exc:
            if not (self.feed_url or self.rest_url):
                raise
            warnings.append(f"homepage: {exc.reason}")
        if page is not None:
            try:
                page = await self._rendered(page)
            except RenderError as exc:
                # The listing still comes; the urgent block is read from the page as served.
                warnings.append(f"homepage: render: {exc.reason}")
        if page is not None and _is_feed(page.fetched):
            # The configured URL is itself a feed.
            items = await parse_off_loop(lambda: self._parse_feed(page.fetched, now))
            return _listing(items, page.fetched.validators)
        reading = PageReading([])
        readable = page is not None and page.kind.kind in ("news", "shell")
        if page is not None and not readable:
            warnings.append(page.kind.reason)
        if page is not None and readable:
            try:
                reading = await parse_off_loop(lambda: self._read_homepage(page, now))
            except ParseError as exc:
                warnings.append(f"homepage: {exc.reason}")
            warnings.extend(reading.notes)
            if not self._discovered:
                await self._discover(page)
                self._discovered = True
        elif page is not None and not (self._discovered or self._guessed):
            # A challenged homepage hides its <link>s; WordPress's usual feed may still answer.
            self.feed_url = await self._guess_feed(page.fetched.url)
            self._guessed = True
        ticker = [i for i in reading.items if i.from_ticker]
        headlines = [i for i in reading.items if not i.from_ticker]
        own = PollResult(
            ticker + headlines, None, warnings=warnings, urgent_block=reading.urgent_block
        )
        if not (self.feed_url or self.rest_url):
            return _explain_empty(own, page)
        try:
            if self.feed_url:
                listing = await self._feed(self.feed_url, validators, now)
            else:
                assert self.rest_url is not None
                listing = await self._wordpress(self.rest_url, validators)
        except (FetchError, ParseError) as exc:
            if page is None:
                raise
            which = "feed" if self.feed_url else "REST API"
            return _explain_empty(
                replace(own, warnings=[*warnings, f"{which}: {exc.reason}"]), page
            )
        return replace(
            listing,
            items=merge(ticker, listing.items),
            warnings=warnings + listing.warnings,
            urgent_block=reading.urgent_block,
        )

    async def _discover(self, page: _Page) -> None:
        """The feed a homepage announces, else its REST API, else /feed/ if that is a feed."""
        found = await parse_off_loop(lambda: discovery.announced(page.html, page.fetched.url))
        self.feed_url, self.rest_url = found.feed_url, None
        if found.feed_url is None:
            self.rest_url = found.rest_url
        if self.feed_url is None and self.rest_url is None:
            self.feed_url = await self._guess_feed(page.fetched.url)

    async def _guess_feed(self, page_url: str) -> str | None:
        guess = urljoin(page_url, "/feed/")
        if urlsplit(guess).path == urlsplit(page_url).path:
            return None
        try:
            fetched = await self.fetcher.fetch(guess)
        except FetchError:
            return None
        return fetched.url if _is_feed(fetched) else None

    # -- dating an item before its urgent alert ----------------------------------------------

    async def read_published(self, item: Item) -> datetime | None:
        """The latest moment `item` can have been published, for an item with no date.

        From a date in its URL (bot.news.freshness), else from its article page, fetched once
        through the same fetcher (and so timed out like any fetch) and dated by
        bot.news.article.published_time. An article page that is gone (404 or 410) counts as
        old news: GONE, older than any freshness limit (a deleted story, or a link to nothing,
        is never breaking). None when nothing says: another failed fetch, a page with no date,
        an item without its own page (a link-less ticker item points to the homepage). Never
        raises.
        """
        zone = self.settings.timezone
        from_url = date_from_url(item.url, zone)
        if from_url is not None or not item.url:
            return from_url
        if not item.url.startswith(("http://", "https://")):
            return None
        if canonical_url(item.url) == canonical_url(self.settings.url):
            return None
        if not names_one_page(item.url):
            # A link-less ticker entry carries the site's front page: its date is not the
            # entry's (a JSON ticker's front page is not its own URL).
            return None
        try:
            fetched = await self.fetcher.fetch(item.url)
        except FetchError as exc:
            log.info("%s: cannot date %s: %s", self.settings.name, item.url, exc.reason)
            return GONE if exc.reason in ("HTTP 404", "HTTP 410") else None
        if fetched.not_modified:
            return None
        try:
            moment = await parse_off_loop(lambda: _page_time(fetched, zone))
        except ParseError as exc:
            log.info("%s: cannot date %s: %s", self.settings.name, item.url, exc.reason)
            return None
        except Exception:  # a page hostile enough to break the parser: no date, and go on
            log.exception("%s: cannot date %s", self.settings.name, item.url)
            return None
        # A page dated by its day only may be from any moment of it: its latest is the answer.
        return latest_possible(moment) if moment is not None else None


# What `read_published` answers for an article page that is gone: older than any limit.
GONE = datetime(1970, 1, 1, tzinfo=UTC)


def _page_time(fetched: Fetched, zone: tzinfo) -> datetime | None:
    html = decode(fetched.body, fetched.charset)
    check_html(html)
    return published_time(LexborHTMLParser(html), zone)


def _listing(items: list[Item], validators: Validators) -> PollResult:
    return PollResult(items, validators, listed=tuple(i.uid for i in items))


def _explain_empty(result: PollResult, page: _Page | None) -> PollResult:
    """A poll with no item says why: what the page is, or that no headline was found."""
    if result.items:
        return result
    reason = page.kind.reason if page is not None and page.kind.reason else NO_HEADLINES
    if reason in result.warnings:
        return result
    return replace(result, warnings=[*result.warnings, reason])


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
