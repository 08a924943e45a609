"""From a poll to stored items: what is new, what is the same story, what stays quiet.

Freshness rules: the first poll of a source records what is there without calling anything
new; an item published longer ago than the freshness limit is never new; an item already
stored (by its stable id) is never new again, so a feed that re-lists or reorders old items
yields nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.news.backoff import next_attempt
from bot.news.dedup import StoryIndex
from bot.news.models import Item
from bot.news.sources import PollResult
from bot.news.text import normalize
from storage import Database
from storage import items as item_store
from storage import sources as source_store
from storage.models import NewItem, SourceState


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


def fresh(item: Item, now: datetime, max_age: timedelta) -> bool:
    return item.published is None or item.published >= now - max_age


def select_new(
    items: Sequence[Item], known: set[str], primed: bool, now: datetime, max_age: timedelta
) -> list[Item]:
    """The items to announce: unseen, fresh, and not from a source's first poll."""
    if not primed:
        return []
    return [item for item in items if item.uid not in known and fresh(item, now, max_age)]


class Ingestor:
    """Stores what sources yield and reports what is new; holds the recent-stories index."""

    def __init__(self, db: Database, max_age: timedelta, dedup_window: timedelta) -> None:
        self.db = db
        self.max_age = max_age
        self.stories = StoryIndex(window=dedup_window)
        self._warm = False

    async def _warm_up(self, now: datetime) -> None:
        if self._warm:
            return
        for item_id, title, story_id in await item_store.recent_titles(
            self.db, now - self.stories.window
        ):
            self.stories.add(item_id, title, now, story_id)
        self._warm = True

    async def record_failure(
        self, source: SourceState, reason: str, interval: timedelta, now: datetime
    ) -> SourceState:
        """Count the failure and set when to try again (backoff); returns the new state."""
        retry_at = next_attempt(source.consecutive_failures + 1, interval, now)
        return await source_store.record_failure(self.db, source.id, now, reason, retry_at)

    async def ingest(
        self, source: SourceState, result: PollResult, now: datetime
    ) -> list[NewArrival]:
        await self._warm_up(now)
        items = _unique(result.items)
        known = await item_store.known_uids(self.db, [i.uid for i in items])
        announce = {i.uid for i in select_new(items, known, source.primed, now, self.max_age)}

        arrivals: list[NewArrival] = []
        new_rows: list[tuple[Item, int | None]] = []
        # Listings put the newest first; storing the oldest first gives newer items higher
        # ids, which order items published in the same second.
        for item in reversed(items):
            if item.uid in known:
                continue
            new_rows.append((item, self.stories.find(item.title, now)))
        ids = await item_store.insert_new(
            self.db,
            [
                NewItem(
                    uid=item.uid,
                    source_id=source.id,
                    url=item.url,
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
                for item, story_id in new_rows
            ],
        )
        for (item, story_id), item_id in zip(new_rows, ids, strict=True):
            if item_id is None:
                continue
            self.stories.add(item_id, item.title, now, story_id)
            if item.uid in announce:
                arrivals.append(NewArrival(item_id, item, story_id, item.urgent))

        # A stored headline that a ticker now lists has just become urgent.
        ticker_known = [i for i in items if i.from_ticker and i.uid in known]
        if ticker_known and source.primed:
            changed = set(await item_store.mark_urgent(self.db, [i.uid for i in ticker_known]))
            for item in ticker_known:
                if not fresh(item, now, self.max_age):
                    continue
                stored = await item_store.id_of(self.db, item.uid)
                if stored is not None and stored in changed:
                    arrivals.append(NewArrival(stored, item, None, True))

        await source_store.record_success(
            self.db,
            source.id,
            now,
            result.validators.etag if result.validators else source.etag,
            result.validators.last_modified if result.validators else source.last_modified,
        )
        return arrivals


def _unique(items: Sequence[Item]) -> list[Item]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.uid not in seen:
            seen.add(item.uid)
            out.append(item)
    return out
