"""What /latest, /urgent and /summary read: pages of stored headlines, and article summaries
fetched, computed and kept on demand.

Away from Telegram's update objects; the messages are composed by bot.compose.views, as
`Outgoing` messages that handlers send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.compose import views
from bot.compose.outgoing import Outgoing
from bot.config import Config
from bot.i18n import Language
from bot.news.article import read_article_page
from bot.news.bounds import parse_off_loop
from bot.news.encoding import decode
from bot.news.fetch import Fetcher, FetchError
from bot.news.models import Article, ParseError
from bot.news.netguard import FetchPolicy
from bot.news.summary import summarize
from bot.news.text import western_digits
from storage import Database, items

DEFAULT_COUNT = 5
MAX_COUNT = 20


@dataclass(frozen=True)
class Listing:
    message: Outgoing
    item_ids: list[int]  # in the order shown: what /summary N refers to


def parse_count(args: Sequence[str]) -> int | None:
    """The N of /latest N: absent means 5; anything but 1-20 is None (a usage error).
    Eastern Arabic digits count as the same numbers («/latest ٣»)."""
    if not args:
        return DEFAULT_COUNT
    digits = western_digits(args[0])
    if len(args) > 1 or len(digits) > 3 or not digits.isascii() or not digits.isdigit():
        return None
    value = int(digits)
    return value if 1 <= value <= MAX_COUNT else None


async def listing(
    db: Database,
    config: Config,
    language: Language,
    count: int,
    offset: int = 0,
    urgent_only: bool = False,
) -> Listing:
    """A page of the stored headlines, newest first, from `offset` (at most `count`)."""
    found = await items.latest(db, limit=count + 1, offset=offset, urgent_only=urgent_only)
    shown, more = found[:count], len(found) > count
    message = views.headlines(shown, more, offset, urgent_only, config, language)
    return Listing(message, [i.id for i in shown])


def _read_article(body: bytes, charset: str | None, url: str, config: Config) -> Article:
    return read_article_page(decode(body, charset), url, config.schedule.zone)


class SummaryRefused(Exception):
    """A summary that cannot be given; `key` is the message to show."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def allowed_url(url: str, config: Config) -> bool:
    """Only pages on exactly a configured source's origin (scheme, host, port, compared after
    normalisation: case, trailing dot, IDNA, userinfo, default port) are fetched on a user's
    request; the fetcher holds every redirect hop to the same rule."""
    return _policy(tuple(s.url for s in config.sources)).is_source_origin(url)


@lru_cache(maxsize=4)
def _policy(source_urls: tuple[str, ...]) -> FetchPolicy:
    """The policy of these sources, made once: each origin is normalised (IDNA included)
    when it is made, and a configuration's sources do not change while it runs."""
    return FetchPolicy(source_urls)


@dataclass(frozen=True)
class PendingSummary:
    """A summary that needs the article fetched: what `fetch_summary` is given."""

    target: str  # the page to fetch
    title: str | None  # the stored headline, if the article is a stored item
    item_id: int | None  # where to keep the summary once computed (None: a user's URL)


async def prepare_summary(
    db: Database,
    config: Config,
    language: Language,
    item_id: int | None = None,
    url: str | None = None,
) -> Outgoing | PendingSummary:
    """What can be answered from storage alone: the kept summary as an `Outgoing`, or what to
    fetch (`PendingSummary`). Only database reads; raises SummaryRefused (gone, foreign URL,
    nothing to fetch) at once, so that a refusal never waits for a fetch slot."""
    item = await items.get(db, item_id) if item_id is not None else None
    if item_id is not None and item is None:
        raise SummaryRefused("summary-gone")
    if item is None and url is not None:
        if not allowed_url(url, config):
            raise SummaryRefused("summary-foreign-url")
        item = await items.find_by_url(db, url)
    target = item.url if item is not None else url
    title = item.title if item is not None else None
    sentences = await items.article_summary(db, item.id) if item is not None else None
    if sentences is not None and target:
        return views.summary(language, title, target, sentences)
    if not target:
        raise SummaryRefused("summary-empty")
    return PendingSummary(target, title, item.id if item is not None else None)


async def fetch_summary(
    db: Database, config: Config, fetcher: Fetcher, language: Language, pending: PendingSummary
) -> Outgoing:
    """The article fetched (the fetcher's on-demand slots, never the polls'), parsed in a worker
    with a time budget, summarised, kept for a stored item; raises SummaryRefused."""
    item_stored = pending.item_id is not None
    try:
        # A URL the user typed stays on our sources' origins, redirects included; a stored
        # item's link goes through the fetcher's general policy.
        fetched = await fetcher.fetch(pending.target, confined=not item_stored, on_demand=True)
        article = await parse_off_loop(
            lambda: _read_article(fetched.body, fetched.charset, fetched.url, config)
        )
    except FetchError as exc:
        if exc.refused:
            # Said plainly, without the address: nothing was asked of it.
            raise SummaryRefused(
                "summary-refused" if item_stored else "summary-foreign-url"
            ) from None
        raise SummaryRefused("summary-failed", reason=exc.reason) from None
    except ParseError:
        raise SummaryRefused("summary-empty") from None
    sentences = summarize(article.paragraphs, article.title)
    if not sentences:
        raise SummaryRefused("summary-empty")
    if pending.item_id is not None:
        await items.save_article_summary(db, pending.item_id, sentences)
    return views.summary(language, pending.title or article.title, pending.target, sentences)


async def summary_message(
    db: Database,
    config: Config,
    fetcher: Fetcher,
    language: Language,
    item_id: int | None = None,
    url: str | None = None,
) -> Outgoing:
    """The article's summary, fetched and computed on demand, then kept (prepare_summary then
    fetch_summary in one call); raises SummaryRefused."""
    found = await prepare_summary(db, config, language, item_id, url)
    if isinstance(found, Outgoing):
        return found
    return await fetch_summary(db, config, fetcher, language, found)
