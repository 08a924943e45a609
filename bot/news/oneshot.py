"""One pass over the sources, and one article, for `ajil fetch` and `ajil article`.

Nothing here writes to the database: these commands show an operator what Ajil would see.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config, SourceConfig
from bot.news.article import read_article_page
from bot.news.bounds import parse_off_loop
from bot.news.dedup import StoryIndex
from bot.news.encoding import decode
from bot.news.fetch import FetchError, HttpFetcher
from bot.news.jsonticker import TickerMapping
from bot.news.models import Article, Item, ParseError
from bot.news.netguard import FetchPolicy
from bot.news.render import Renderer, check_available
from bot.news.sources import SourceError, SourcePoller, SourceSettings, poll_all
from bot.news.summary import DEFAULT_SENTENCES, summarize


def settings_for(source: SourceConfig, config: Config) -> SourceSettings:
    return SourceSettings(
        name=source.name,
        url=source.url,
        kind=source.kind,
        timezone=ZoneInfo(source.timezone or config.schedule.timezone),
        ticker_selector=source.ticker_selector,
        headline_selector=source.headline_selector,
        render=source.render,
        ticker=ticker_mapping(source) if source.kind == "json" else None,
    )


def renderer_for(config: Config, policy: FetchPolicy) -> Renderer | None:
    """The browser the `render = true` sources share, not started yet; None when no source
    renders. Raises RenderUnavailable (naming the package to install) when one does and
    Playwright or chromium is missing."""
    if not any(s.render for s in config.sources):
        return None
    return Renderer(policy, executable=check_available())


def ticker_mapping(source: SourceConfig) -> TickerMapping:
    """A json source's mapping, with the defaults: a top-level list, "title", every entry
    urgent, link-less entries pointing to the endpoint's front page."""
    return TickerMapping(
        items=source.items or "",
        title_field=source.title_field or "title",
        url_field=source.url_field or None,
        time_field=source.time_field or None,
        urgent=True if source.urgent is None else source.urgent,
        site_url=source.site_url,
    )


@dataclass(frozen=True)
class Found:
    """One item as `ajil fetch` shows it. `zone` is its source's time zone: times keep the
    source's own offset, so that 23:59 on the site is not shown as another day.
    `urgent_block` says which block of the page made it urgent (None if none did)."""

    item: Item
    duplicate_of: str | None
    zone: tzinfo = UTC
    urgent_block: str | None = None

    @property
    def published(self) -> datetime | None:
        """The item's time with the offset its source wrote («…T00:00+01:00» stays so); a
        UTC time (RFC 822 GMT, feedparser's reading) in the source's own zone instead."""
        moment = self.item.published
        if moment is None:
            return None
        if moment.utcoffset() == timedelta(0):
            return moment.astimezone(self.zone)
        return moment

    def as_json(self) -> dict[str, Any]:
        published = self.published
        return {
            "source": self.item.source,
            "id": self.item.uid,
            "url": self.item.url,
            "title": self.item.title,
            "published": published.isoformat() if published else None,
            "urgent": self.item.urgent,
            "urgent_block": self.urgent_block,
            "duplicate_of": self.duplicate_of,
        }


@dataclass(frozen=True)
class FetchReport:
    found: list[Found]
    failures: dict[str, str]  # source name -> reason
    warnings: dict[str, list[str]]
    # Source name -> which block was taken as urgent and why (None: no urgent block).
    urgent_blocks: dict[str, str | None]


async def fetch_once(
    config: Config, only: str | None = None, fetcher: HttpFetcher | None = None
) -> FetchReport:
    """Poll every configured source (or the one named) once, marking same-story duplicates.

    Raises RenderUnavailable when a chosen source has render = true and cannot have it."""
    chosen = [s for s in config.sources if only is None or s.name == only]
    own = fetcher is None
    policy = FetchPolicy(s.url for s in config.sources)
    renderer = renderer_for(config.model_copy(update={"sources": chosen}), policy)
    fetcher = fetcher or HttpFetcher(policy=policy)
    pollers = [SourcePoller(settings_for(s, config), fetcher, renderer=renderer) for s in chosen]
    zones = {p.settings.name: p.settings.timezone for p in pollers}
    try:
        now = datetime.now(UTC)
        results = await poll_all(pollers, {}, now)
    finally:
        if renderer is not None:
            await renderer.aclose()
        if own:
            await fetcher.aclose()
    stories = StoryIndex(window=timedelta(hours=config.news.dedup_window_hours))
    first_of_story: dict[int, str] = {}
    found: list[Found] = []
    failures: dict[str, str] = {}
    warnings: dict[str, list[str]] = {}
    urgent_blocks: dict[str, str | None] = {}
    counter = 0
    for name, result in results.items():
        if isinstance(result, SourceError):
            failures[name] = result.reason
            continue
        if result.warnings:
            warnings[name] = list(dict.fromkeys(result.warnings))
        urgent_blocks[name] = result.urgent_block
        for item in result.items:
            counter += 1
            story = stories.find(item.title, now)
            stories.add(counter, item.title, now, story)
            if story is None:
                first_of_story[counter] = item.uid
            block = result.urgent_block if item.from_ticker else None
            duplicate = first_of_story.get(story) if story else None
            found.append(Found(item, duplicate, zones[name], block))
    return FetchReport(found, failures, warnings, urgent_blocks)


@dataclass(frozen=True)
class ArticleReport:
    article: Article
    summary: list[str]

    def as_json(self) -> dict[str, Any]:
        article = self.article
        return {
            "url": article.url,
            "title": article.title,
            "published": article.published.isoformat() if article.published else None,
            "image": article.image,
            "text": article.text,
            "summary": self.summary,
        }


async def read_article(
    target: str, config: Config, sentences: int = DEFAULT_SENTENCES
) -> ArticleReport:
    """Fetch (http/https) or read (a file) one article; raises FetchError, ParseError, OSError."""
    zone = ZoneInfo(config.schedule.timezone)
    if target.startswith(("http://", "https://")):
        # The operator named this page on the command line: its own origin is trusted.
        async with HttpFetcher(policy=FetchPolicy([target])) as fetcher:
            fetched = await fetcher.fetch(target)
        html, url = decode(fetched.body, fetched.charset), fetched.url
    else:
        html, url = decode(await asyncio.to_thread(Path(target).read_bytes)), None
    article = await parse_off_loop(lambda: read_article_page(html, url, zone))
    return ArticleReport(article, summarize(article.paragraphs, article.title, sentences))


def json_line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


__all__ = [
    "ArticleReport",
    "FetchError",
    "FetchReport",
    "Found",
    "ParseError",
    "fetch_once",
    "json_line",
    "read_article",
    "settings_for",
]
