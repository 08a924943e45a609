"""`ajil probe URL`: look at a site once and say how Ajil should read it.

The site is read the way an `auto` source reads it (bot.news.sources.SourcePoller, through the
guarded fetcher): its feed or WordPress REST API, its urgent block and label, its headlines.
Around that poll the probe records what an operator needs to choose a source: how the page
was decoded, which push channel fills an empty urgent bar (bot.news.pushscript), whether the
listing answers a conditional GET with 304, and a ready `[[sources]]` block. Nothing is
written anywhere.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from urllib.parse import urljoin, urlsplit

from bot.news import feeds, homepage, pagekind, wordpress
from bot.news.encoding import decode, decode_explained
from bot.news.fetch import Fetched, Fetcher, FetchError, Validators
from bot.news.homepage import PUSH_NOTE_START
from bot.news.models import Item, PageReading
from bot.news.pushscript import PushBinding
from bot.news.sources import HomepageReader, SourceError, SourcePoller, SourceSettings
from bot.probe_report import (
    DEFAULT_MESSAGE_FIELD,
    HEADLINES_SHOWN,
    NEEDS_RENDER,
    Conditional,
    Listing,
    Report,
    Table,
    Urgent,
)

__all__ = ["Conditional", "Listing", "Report", "Urgent", "probe", "source_name"]


class _Recorder:
    """The fetcher, recording every answer by the URL asked for: the probe reports on the
    very responses the poll read."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.answers: dict[str, Fetched] = {}

    async def fetch(
        self,
        url: str,
        validators: Validators | None = None,
        *,
        confined: bool = False,
        on_demand: bool = False,
    ) -> Fetched:
        fetched = await self.fetcher.fetch(url, validators, confined=confined, on_demand=on_demand)
        self.answers[url] = fetched
        self.answers.setdefault(fetched.url, fetched)
        return fetched


@dataclass
class _Seen:
    """What the homepage reader was given and gave."""

    html: str = ""
    url: str | None = None
    reading: PageReading | None = None


def _capturing(seen: _Seen) -> HomepageReader:
    def read(
        html: str,
        source: str,
        base_url: str,
        ticker: str | None,
        headline: str | None,
        tz: tzinfo,
        now: datetime | None,
    ) -> PageReading:
        reading = homepage.parse_homepage(html, source, base_url, ticker, headline, tz, now)
        seen.html, seen.url, seen.reading = html, base_url, reading
        return reading

    return read


async def probe(url: str, fetcher: Fetcher, zone: tzinfo, name: str | None = None) -> Report:
    """Look at the site at `url` once through `fetcher` and say how to read it.

    Raises FetchError when the site cannot be read at all (the reason is the fetcher's);
    otherwise the Report says what was found, and why nothing is usable if so. `name` is the
    source name in the printed blocks (default: from the host, kifache.com -> kifache)."""
    recorder = _Recorder(fetcher)
    seen = _Seen()
    poller = SourcePoller(
        SourceSettings(name or "site", url, "auto", zone), recorder, _capturing(seen)
    )
    try:
        result = await poller.poll(None, datetime.now(UTC))
    except SourceError as exc:
        raise FetchError(exc.reason) from None
    name = name or source_name(url)
    first = recorder.answers.get(url)
    page = recorder.answers.get(seen.url) if seen.url else first
    listing = _listing(url, poller, first, recorder, result.warnings)
    working = listing if listing is not None and listing.error is None else None
    encoding = decode_explained(page.body, page.charset)[1] if page else None
    reading = seen.reading or PageReading([])
    ticker = [i for i in result.items if i.from_ticker]
    headlines = [i for i in result.items if not i.from_ticker]
    urgent = Urgent(
        reading.urgent_block,
        [i.title for i in ticker],
        reading.urgent_block is not None and not ticker,
        reading.passed_over,
    )
    kind = pagekind.classify(seen.html, page.status, page.url) if seen.html and page else None
    render = _render_reason(kind, urgent, reading.push, headlines)
    warnings = [w for w in result.warnings if not _said_elsewhere(w, reading.push, kind, listing)]
    page_words = _page_words(listing, kind, result.warnings)
    # A homepage source polls the page where redirects and refresh stubs end.
    main = _main_source(name, seen.url or url, working, urgent, render, headlines)
    # A pusher source also polls the site as `auto` does (its feed or REST API, its homepage):
    # it is the one source to paste. A second one polling the same site would read everything
    # twice, warn at every poll that the bar needs a pusher source, and split the site's
    # alerts and headlines between two names.
    push_table = _push_source(name, seen.url or url, reading.push) if reading.push else None
    tables = [push_table] if push_table else [main] if main else []
    conditional = await _conditional(recorder, main, working, seen.url or url)
    notes = []
    if reading.push and reading.push.message_field is None:
        notes.append(
            "the script writes the whole event, not one of its fields: check message_field "
            "against a pushed event"
        )
    reason = None
    if not (headlines or ticker or reading.push):
        reason = _nothing_usable(result.warnings, render)
    return Report(
        url=url,
        page_url=seen.url or (first.url if first else None),
        page=page_words,
        encoding=encoding,
        listing=listing,
        urgent=urgent,
        push=reading.push,
        render=render,
        headlines=headlines[:HEADLINES_SHOWN],
        headline_count=len(headlines),
        conditional=conditional,
        warnings=warnings,
        sources=tables,
        reason=reason,
        notes=notes,
    )


def source_name(url: str) -> str:
    """A source name from the URL's host: www.kifache.com -> kifache; an address -> site."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    try:
        ipaddress.ip_address(host)
        return "site"
    except ValueError:
        pass
    label = host.split(".")[0] if host else ""
    return re.sub(r"[^a-z0-9_-]", "-", label) or "site"


def _listing(
    url: str, poller: SourcePoller, first: Fetched | None, recorder: _Recorder, warnings: list[str]
) -> Listing | None:
    """The listing the poll found, with why it failed if it did (the poll's "feed: ..." or
    "REST API: ..." warning)."""
    if first is not None and _is_feed(first):
        return Listing("feed", first.url, "the URL itself")
    guess = urljoin(url, "/feed/")
    if poller.feed_url:
        found = (
            "guessed at /feed/" if poller.feed_url.startswith(guess) else "announced by the page"
        )
        listing = Listing("feed", poller.feed_url, found)
    elif poller.rest_url:
        listing = Listing("wordpress", poller.rest_url, "announced by the page")
    else:
        return None
    if listing.url in recorder.answers:
        return listing
    prefix = _LISTING_WARNING[listing.kind]
    error = next((w.removeprefix(prefix) for w in warnings if w.startswith(prefix)), None)
    return replace(listing, error=error or "it could not be read")


# How the poll's warnings name a listing that failed (bot.news.sources.SourcePoller._auto).
_LISTING_WARNING = {"feed": "feed: ", "wordpress": "REST API: "}


def _is_feed(fetched: Fetched) -> bool:
    kind = fetched.content_type or ""
    if any(t in kind for t in ("rss", "atom", "xml")):
        return True
    return not fetched.not_modified and feeds.looks_like_feed(
        decode(fetched.body[:2048], fetched.charset)
    )


def _page_words(
    listing: Listing | None, kind: pagekind.PageKind | None, warnings: list[str]
) -> str:
    if listing is not None and listing.found == "the URL itself":
        return "a feed"
    if kind is None:
        # The page was not read: a challenge, a stub that leads nowhere... the poll says why.
        return next(iter(warnings), "not read")
    return kind.reason or "an HTML page"


def _render_reason(
    kind: pagekind.PageKind | None, urgent: Urgent, push: PushBinding | None, headlines: list[Item]
) -> str | None:
    if push is not None:
        return None
    if kind is not None and kind.kind == "shell":
        return f"{kind.reason}: only a browser sees its headlines and urgent bar"
    if urgent.empty:
        return "the urgent block is empty in the HTML and no push channel Ajil reads fills it"
    return None


def _said_elsewhere(
    warning: str,
    push: PushBinding | None,
    kind: pagekind.PageKind | None,
    listing: Listing | None,
) -> bool:
    """Warnings the report states in its own lines (the push channel, the shell, a listing
    that failed)."""
    if push is not None and warning.startswith(PUSH_NOTE_START):
        return True
    if listing is not None and listing.error and warning.startswith(_LISTING_WARNING[listing.kind]):
        return True
    return kind is not None and bool(kind.reason) and warning == kind.reason


def _main_source(
    name: str,
    url: str,
    listing: Listing | None,
    urgent: Urgent,
    render: str | None,
    headlines: list[Item],
) -> Table | None:
    """The polled source: the listing alone when the homepage adds nothing to it, else the
    homepage (`auto` with a listing, `html` without)."""
    homepage_needed = (urgent.block is not None and not urgent.empty) or render is not None
    if listing is not None and listing.found == "the URL itself":
        return {"name": name, "kind": "rss", "url": listing.url}
    if listing is not None and not homepage_needed:
        if listing.kind == "feed":
            return {"name": name, "kind": "rss", "url": listing.url}
        if wordpress.posts_url(url) == listing.url:
            return {"name": name, "kind": "wordpress", "url": url}
        if wordpress.POSTS_PATH in urlsplit(listing.url).path:
            return {"name": name, "kind": "wordpress", "url": listing.url}
        return {"name": name, "kind": "auto", "url": url}
    if listing is None and not headlines and render is None:
        return None
    table: Table = {"name": name, "kind": "auto" if listing else "html", "url": url}
    if render is not None:
        table["render"] = True
    return table


def _push_source(name: str, page_url: str, push: PushBinding) -> Table:
    table: Table = {"name": name, "kind": "pusher", "url": page_url, "key": push.key}
    if push.cluster:
        table["cluster"] = push.cluster
    else:
        assert push.ws_url is not None
        table["ws_url"] = push.ws_url
    table |= {
        "channel": push.channel,
        "event": push.event,
        "message_field": push.message_field or DEFAULT_MESSAGE_FIELD,
    }
    return table


async def _conditional(
    recorder: _Recorder, main: Table | None, listing: Listing | None, page_url: str
) -> Conditional | None:
    """Ask the URL the printed source polls with validators again: does it answer 304?
    (An `auto` source polls its listing conditionally and its homepage always whole.)"""
    if main is None:
        return None
    if main["kind"] in ("rss", "wordpress", "auto") and listing is not None:
        target = listing.url
    elif main["kind"] == "html":
        target = page_url
    else:
        return None
    fetched = recorder.answers.get(target)
    if fetched is None:
        return None
    validators = fetched.validators
    etag, modified = validators.etag, validators.last_modified
    if not (etag or modified):
        return Conditional(target, None, None, None)
    try:
        again = await recorder.fetcher.fetch(fetched.url, validators)
    except FetchError as exc:
        return Conditional(target, etag, modified, None, exc.reason)
    return Conditional(target, etag, modified, again.not_modified)


def _nothing_usable(warnings: list[str], render: str | None) -> str:
    if render is not None:
        return f"no headline in the HTML ({render}): {NEEDS_RENDER}, as in the block printed"
    return "; ".join(dict.fromkeys(warnings)) or "no headlines found"
