"""From a poll to stored items: what is new, what is the same story, what stays quiet.

Freshness rules: the first poll of a source records what is there without calling anything
new; an item published longer ago than the freshness limit is never new; an item already
stored (by its stable id) is never new again, so a feed that re-lists or reorders old items
yields nothing. An urgent item with no published time is dated before its alert (from its URL,
else its page: `date_urgent`, run before the poll's transaction); an unseen undated item listed
below stored ones in a dated listing is old news re-listed; a stored headline that enters an
urgent block long after it was first seen is not breaking. An item dated in the future is
stored at the time it was first seen.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.news.backoff import next_attempt
from bot.news.dates import latest_possible
from bot.news.dedup import StoryIndex
from bot.news.identity import stored_url
from bot.news.models import Item
from bot.news.sources import PollResult
from bot.news.text import normalize
from storage import Database
from storage import items as item_store
from storage import sources as source_store
from storage.models import NewItem, SourceState, StoredItem


@dataclass(frozen=True)
class NewArrival:
    """An item seen for the first time (or newly urgent) and fresh enough to announce."""

    item_id: int
    item: Item
    story_id: int | None  # the earlier item of the same story, if any
    urgent: bool

    @property
    def duplicate(self) -> bool:
        return self.story_id is not None and self.story_id != self.item_id


# Pages fetched at most per poll to date undated urgent items: a ticker lists a handful.
MAX_DATED = 20
# What dates an undated item: the latest moment it can have been published, or None.
ReadPublished = Callable[[Item], Awaitable[datetime | None]]


def fresh(
    item: Item, now: datetime, max_age: timedelta, dated: Mapping[str, datetime] | None = None
) -> bool:
    """Whether the item is recent enough to announce: by its published time, else by the time
    read for it before the alert (`dated`, by uid); an item of unknown age is fresh."""
    moment = item.published or (dated or {}).get(item.uid)
    # A date without a time of day may be any moment of that day: judged by its latest.
    return moment is None or latest_possible(moment) >= now - max_age


def select_new(
    items: Sequence[Item],
    known: set[str],
    primed: bool,
    now: datetime,
    max_age: timedelta,
    dated: Mapping[str, datetime] | None = None,
    listed: Sequence[str] = (),
) -> list[Item]:
    """The items to announce: unseen, fresh, not from a source's first poll, and not an undated
    item that a dated listing (`listed`, uids newest first) puts below an item already stored:
    that is old news the listing re-lists, or that a deletion above it uncovered."""
    if not primed:
        return []
    below_known: set[str] = set()
    seen_known = False
    for uid in listed:
        if uid in known:
            seen_known = True
        elif seen_known:
            below_known.add(uid)
    return [
        item
        for item in items
        if item.uid not in known
        and fresh(item, now, max_age, dated)
        and not (item.published is None and item.uid in below_known)
    ]


def _clamped(item: Item, now: datetime) -> Item:
    # A clock running ahead on the site: the item is shown and sorted as first seen.
    if item.published is not None and item.published > now:
        return replace(item, published=now)
    return item


# How long a transaction that stored items may take to commit after a later one: the items
# stored by other workers are read again from the highest id known this long ago, since on
# PostgreSQL ids are handed out before commit, not in commit order.
CATCH_UP_SLACK_S = 30.0


class Ingestor:
    """Stores what sources yield and reports what is new; holds the recent-stories index.

    Several workers of a fleet store items (bot.sharing): before matching new headlines the
    index reads what the others stored since it last looked (`_catch_up`), so that a story
    one worker stored is the same story when another sees it."""

    def __init__(
        self,
        db: Database,
        max_age: timedelta,
        dedup_window: timedelta,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.max_age = max_age
        self.stories = StoryIndex(window=dedup_window)
        self._warm = False
        self._monotonic = monotonic
        self._ids: set[int] = set()  # ids in the index above the floor
        self._marks: deque[tuple[float, int]] = deque()  # (when, the highest id read then)
        self._floor = 0  # the items up to this id are in the index (or were never to be)

    async def _warm_up(self, now: datetime) -> None:
        if self._warm:
            return
        for item_id, title, story_id in await item_store.recent_titles(
            self.db, now - self.stories.window
        ):
            self.stories.add(item_id, title, now, story_id)
            self._ids.add(item_id)
        # A transaction still committing an older id now is missed: dedup's loss only, for one
        # story, once (the outbox's same-story rule still holds its alert back).
        self._floor = max(self._ids, default=0)
        self._ids.clear()
        self._marks.append((self._monotonic(), self._floor))
        self._warm = True

    async def _catch_up(self, now: datetime) -> None:
        """Add to the index the items stored since it last looked (by this worker or another),
        from the highest id known CATCH_UP_SLACK_S ago, skipping those it holds."""
        if not self._warm:
            await self._warm_up(now)
            return
        clock = self._monotonic()
        while len(self._marks) > 1 and self._marks[1][0] <= clock - CATCH_UP_SLACK_S:
            self._marks.popleft()
        if self._marks and self._marks[0][0] <= clock - CATCH_UP_SLACK_S:
            self._floor = max(self._floor, self._marks[0][1])
            self._ids = {i for i in self._ids if i > self._floor}
        highest = self._floor
        for item_id, title, story_id in await item_store.titles_after(self.db, self._floor):
            highest = max(highest, item_id)
            if item_id not in self._ids:
                self.stories.add(item_id, title, now, story_id)
                self._ids.add(item_id)
        self._marks.append((clock, highest))

    def forget(self) -> None:
        """Drop the recent-stories index after a rolled-back write: it may name items that
        were never stored. The next ingest reloads it from storage."""
        self.stories = StoryIndex(window=self.stories.window)
        self._warm = False
        self._ids = set()
        self._marks = deque()
        self._floor = 0

    async def record_failure(
        self, source: SourceState, reason: str, interval: timedelta, now: datetime
    ) -> SourceState:
        """Count the failure and set when to try again (backoff); returns the new state."""
        retry_at = next_attempt(source.consecutive_failures + 1, interval, now)
        return await source_store.record_failure(self.db, source.id, now, reason, retry_at)

    async def date_urgent(
        self, source: SourceState, result: PollResult, now: datetime, read: ReadPublished
    ) -> dict[str, datetime]:
        """Times for the undated items of this poll that would go out as urgent alerts: unseen
        urgent ones, and stored ones an urgent block now lists. By uid, for `ingest(dated=)`.

        `read` fetches pages: call this outside any transaction. Reads storage only. At most
        MAX_DATED items are dated, all at once; an item `read` cannot date is left out.
        """
        if not source.primed or result.not_modified:
            return {}
        items = _unique(result.items)
        known = await item_store.known_uids(self.db, [i.uid for i in items])
        wanted: list[Item] = []
        for item in items:
            if item.published is not None:
                continue
            if item.uid not in known:
                if item.urgent:
                    wanted.append(item)
            elif item.from_ticker:
                stored = await self._stored(item.uid)
                if (
                    stored is not None
                    and not stored.urgent
                    and stored.published_at is None
                    and stored.sort_at >= now - self.max_age
                ):
                    wanted.append(item)
        wanted = wanted[:MAX_DATED]
        moments = await asyncio.gather(*(read(item) for item in wanted))
        return {
            item.uid: moment
            for item, moment in zip(wanted, moments, strict=True)
            if moment is not None
        }

    async def _stored(self, uid: str) -> StoredItem | None:
        item_id = await item_store.id_of(self.db, uid)
        return await item_store.get(self.db, item_id) if item_id is not None else None

    async def ingest(
        self,
        source: SourceState,
        result: PollResult,
        now: datetime,
        dated: Mapping[str, datetime] | None = None,
    ) -> list[NewArrival]:
        """Store the poll's items and record the source's state; returns what to announce.

        `dated` holds the times `date_urgent` read for undated items (by uid).
        """
        arrivals = await self.store(
            source, result.items, now, dated, result.listed, primed=source.primed
        )
        await source_store.record_success(
            self.db,
            source.id,
            now,
            result.validators.etag if result.validators else source.etag,
            result.validators.last_modified if result.validators else source.last_modified,
        )
        if not result.not_modified:
            # A 304 says nothing new about the page: the warning of the last read stands.
            await source_store.record_warning(self.db, source.id, result.warning, now)
        return arrivals

    async def store(
        self,
        source: SourceState,
        found: Sequence[Item],
        now: datetime,
        dated: Mapping[str, datetime] | None = None,
        listed: Sequence[str] = (),
        primed: bool = True,
    ) -> list[NewArrival]:
        """Store items of `source` and return what to announce, leaving the source's poll
        state alone: what `ingest` does for a poll, and what a pushed message needs (a push is
        new by nature, so `primed` is True even before the source's first poll).
        """
        dated = dated or {}
        items = [_clamped(i, now) for i in _unique(found)]
        known = await item_store.known_uids(self.db, [i.uid for i in items])
        if any(i.uid not in known for i in items):
            await self._catch_up(now)
        announce = {
            i.uid for i in select_new(items, known, primed, now, self.max_age, dated, listed)
        }

        arrivals: list[NewArrival] = []
        # Listings put the newest first; storing the oldest first gives newer items higher
        # ids, which order items published in the same second. One at a time, each added to
        # the story index before the next is matched: one story listed twice in the same
        # poll (a bar entry without a link and its feed item, say) is one story, one alert.
        for item in reversed(items):
            if item.uid in known:
                continue
            story_id = self.stories.find(item.title, now)
            (item_id,) = await item_store.insert_new(
                self.db,
                [
                    NewItem(
                        uid=item.uid,
                        source_id=source.id,
                        url=stored_url(item.url, item.uid),
                        title=item.title,
                        normalized_title=normalize(item.title),
                        normalized_text=normalize(item.summary or ""),
                        published_at=item.published,
                        fetched_at=now,
                        urgent=item.urgent,
                        summary=item.summary,
                        image_url=item.image,
                        story_id=story_id,
                    )
                ],
            )
            if item_id is None:
                continue
            self.stories.add(item_id, item.title, now, story_id)
            self._ids.add(item_id)
            if item.uid in announce:
                arrivals.append(NewArrival(item_id, item, story_id, item.urgent))

        # A stored headline that a ticker now lists has just become urgent.
        ticker_known = [i for i in items if i.from_ticker and i.uid in known]
        if ticker_known and primed:
            changed = set(await item_store.mark_urgent(self.db, [i.uid for i in ticker_known]))
            for item in ticker_known:
                if not fresh(item, now, self.max_age, dated):
                    continue
                stored = await self._stored(item.uid)
                # First seen (or published) long ago: an old headline the block now shows.
                if (
                    stored is None
                    or stored.id not in changed
                    or stored.sort_at < now - self.max_age
                ):
                    continue
                arrivals.append(NewArrival(stored.id, item, None, True))
        return arrivals


def _unique(items: Sequence[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.uid not in seen:
            seen.add(item.uid)
            out.append(item)
    return out
