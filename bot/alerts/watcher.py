"""Scheduled polling: one repeating job per source, the minute job for digests, and the live
push channels of `pusher` sources (bot.alerts.pushes), which run where the polling runs.

In `ajil run` the leader schedules the digests and the `pusher` sources (`schedule`); every
other source is polled by the one worker of the fleet that holds its poll lease (bot.sharing,
through `schedule_polls`), which `poll` checks before the fetch and again before the write.

Jobs run on python-telegram-bot's JobQueue (APScheduler underneath). It keeps nothing across
restarts, so it holds no durable work: a poll stores its items and enqueues their deliveries in
one transaction, and the sender drains the outbox from the database.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.alerts.pushes import PushCap, PushWatch
from bot.compose.alerts import DigestEntry, digest_body
from bot.config import Config, SourceConfig
from bot.news.fetch import Fetcher, Validators
from bot.news.ingest import Ingestor, NewArrival
from bot.news.models import ParseError
from bot.news.oneshot import settings_for
from bot.news.pushed import message_of, pushed_items
from bot.news.render import PageRenderer
from bot.news.sources import PollResult, SourceError, SourcePoller
from bot.news.text import normalize
from bot.ops.metrics import Metrics
from storage import Database, StorageError, fanout, items, notices, outbox, subscribers
from storage import sources as source_store
from storage.models import Priority, SourceState, Subscriber

log = logging.getLogger(__name__)
DIGEST_SIZE = 15


def local_minute(moment: datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone)
    return local.hour * 60 + local.minute


def with_push_problem(warning: str | None, problem: str | None) -> str | None:
    """A source's warning ("a; b") with its push channel's problem in place of the one it
    held, or without any when there is none now."""
    kept = [w for w in (warning or "").split("; ") if w and not w.startswith("push channel")]
    return "; ".join([*kept, *filter(None, [problem])]) or None


class Watcher:
    """Polls the sources, stores what is new and puts its alerts in the outbox."""

    def __init__(
        self,
        db: Database,
        config: Config,
        fetcher: Fetcher,
        wake_sender: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: Metrics | None = None,
        renderer: PageRenderer | None = None,
    ) -> None:
        """`renderer`: the shared browser of the `render = true` sources (None when none is)."""
        self.metrics = metrics
        self.db = db
        self.config = config
        self.zone = config.schedule.zone
        self.clock = clock
        self.wake_sender = wake_sender
        self.ingestor = Ingestor(
            db,
            max_age=timedelta(hours=config.news.freshness_hours),
            dedup_window=timedelta(hours=config.news.dedup_window_hours),
        )
        self.sources: dict[str, SourceConfig] = {s.name: s for s in config.sources}
        self.pollers = {
            s.name: SourcePoller(settings_for(s, config), fetcher, renderer=renderer)
            for s in config.sources
        }
        self.polls = 0
        self.pushes = 0  # pushed messages read
        # One poll of a source at a time: the scheduled one and a catch-up after a push
        # channel reconnects must not overlap.
        self._polling: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.push_watch: PushWatch | None = None  # once schedule() started it
        self.push_caps = {
            s.name: PushCap(s.pushes_per_minute) for s in config.sources if s.kind == "pusher"
        }
        # The sources polled by the worker that holds their poll lease (bot.sharing) rather
        # than by the leader, and the fence that says whether this worker holds it now.
        self.spread: frozenset[str] = frozenset()
        self._may_poll: Callable[[str], Awaitable[bool]] | None = None

    def spread_out(self, may_poll: Callable[[str], Awaitable[bool]]) -> frozenset[str]:
        """Leave the polling of every source but the `pusher` ones (whose live channels stay
        with the leader, and their polls with them) to bot.sharing: `schedule` then skips them,
        and `poll` polls one only when `await may_poll(name)` says this worker holds it now
        (before the fetch, and again before the write). Returns their names."""
        self.spread = frozenset(n for n, s in self.sources.items() if s.kind != "pusher")
        self._may_poll = may_poll
        return self.spread

    # -- scheduling ------------------------------------------------------------------------

    def schedule(self, job_queue: Any) -> None:
        """Create the jobs once each (a second call adds nothing), and open the push channels
        of `pusher` sources (once)."""
        if self.push_watch is None and any(s.kind == "pusher" for s in self.sources.values()):
            self.push_watch = PushWatch(self)
            self.push_watch.start()
        self.schedule_polls(job_queue, [n for n in self.sources if n not in self.spread])
        if not job_queue.get_jobs_by_name("digests"):
            now = self.clock()
            job_queue.run_repeating(
                self._digest_job,
                interval=60,
                first=61 - now.second,
                name="digests",
                job_kwargs={"misfire_grace_time": 50, "coalesce": True, "max_instances": 1},
            )

    def unschedule(self, job_queue: Any) -> None:
        """Remove the jobs `schedule` made: no poll or digest starts after this (one already
        running ends)."""
        self.unschedule_polls(job_queue, [n for n in self.sources if n not in self.spread])
        for job in job_queue.get_jobs_by_name("digests"):
            job.schedule_removal()

    def schedule_polls(self, job_queue: Any, names: Collection[str], soon: bool = False) -> None:
        """A repeating poll job for each of `names` (none added twice); the first polls are
        spread over the first seconds, or, `soon`, over the first second (sources taken over
        from another worker)."""
        for name in names:
            job_name = f"poll:{name}"
            if job_queue.get_jobs_by_name(job_name):
                continue
            interval = self.sources[name].interval
            job_queue.run_repeating(
                self._job(name),
                interval=interval,
                # Spread the first polls so that sources do not all fire in the same second.
                first=random.uniform(0.1, 1) if soon else random.uniform(1, min(interval, 5)),
                name=job_name,
                job_kwargs={
                    # A poll that could not start on time is still worth doing soon after...
                    "misfire_grace_time": interval,
                    # ...but never twice in a row to catch up, and never two at once.
                    "coalesce": True,
                    "max_instances": 1,
                },
            )

    def unschedule_polls(self, job_queue: Any, names: Collection[str]) -> None:
        """Remove the poll jobs of `names`: no poll of them starts after this."""
        for name in names:
            for job in job_queue.get_jobs_by_name(f"poll:{name}"):
                job.schedule_removal()

    async def settle(self, names: Collection[str]) -> None:
        """Wait for the polls of `names` under way to end (after `unschedule_polls`)."""
        for name in names:
            async with self._polling[name]:
                pass

    def _job(self, name: str) -> Callable[[Any], Any]:
        async def job(_: Any) -> None:
            await self.poll(name)

        return job

    async def _digest_job(self, _: Any) -> None:
        await self.send_digests()

    # -- polling ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the push channels (polling jobs end with the JobQueue, or `unschedule`); a
        later `schedule` opens them again (a worker that leads again)."""
        if self.push_watch is not None:
            watch, self.push_watch = self.push_watch, None
            await watch.stop()

    async def poll(self, name: str) -> list[NewArrival]:
        """One poll of one source; returns what was new (already in the outbox)."""
        async with self._polling[name]:
            return await self._poll(name)

    async def _poll(self, name: str) -> list[NewArrival]:
        if not await self._polled_here(name):
            return []
        state = await source_store.get(self.db, name)
        if state is None or state.disabled:
            return []
        now = self.clock()
        if state.next_fetch_at is not None and state.next_fetch_at > now:
            return []  # backing off after failures
        validators = Validators(state.etag, state.last_modified)
        started = time.monotonic()
        try:
            result = await self.pollers[name].poll(validators, now)
        except SourceError as exc:
            self._measure(name, "failed", started)
            if await self._polled_here(name):
                await self._failed(state, exc.reason, now)
            return []
        # A push channel's trouble is said as the source's warning (`ajil fetch`, the state,
        # an admin incident): with the page's, or, when the page is unchanged (304), beside
        # the warning it left.
        push_warning: str | None = None
        if name in self.push_caps:
            problem = self.push_problem(name, now)
            if not result.not_modified:
                result = replace(result, warnings=[*result.warnings, *filter(None, [problem])])
            else:
                push_warning = with_push_problem(state.warning, problem)
        outcome = "not_modified" if result.not_modified else "warning" if result.warnings else "ok"
        self._measure(name, outcome, started)
        self._log_warnings(state, result)
        # Dating undated urgent items may fetch their pages: before the transaction, so that
        # no write waits on the network.
        dated = await self.ingestor.date_urgent(
            state, result, now, self.pollers[name].read_published
        )
        if not await self._polled_here(name):
            # The lease may be passing to another worker while this poll ran: its owner now
            # polls again, with the validators this poll did not store.
            log.info("source %s: no longer polled here; this poll's result is left", name)
            return []
        try:
            # Serial: the story index in memory is read and grown inside the transaction, and
            # the one-alert-per-story rule reads the deliveries other polls write.
            async with self.db.transaction(serial=True):
                if result.items:
                    await fanout.one_news_writer(self.db)
                arrivals = await self.ingestor.ingest(state, result, now, dated)
                await self._enqueue(state, arrivals, now)
                if push_warning != state.warning and result.not_modified:
                    await source_store.record_warning(self.db, state.id, push_warning, now)
        except (sqlite3.Error, StorageError, OSError) as exc:
            await self._write_failed(state, exc, now)
            return []
        self.polls += 1
        if state.consecutive_failures:
            log.info("source %s: working again after %d failures", name, state.consecutive_failures)
        if arrivals:
            log.info(
                "source %s: %d new (%d urgent)",
                name,
                len(arrivals),
                sum(1 for a in arrivals if a.urgent),
            )
            self.wake_sender()
        return arrivals

    async def _polled_here(self, name: str) -> bool:
        return name not in self.spread or self._may_poll is None or await self._may_poll(name)

    async def pushed(self, name: str, data: Any, received: datetime) -> list[NewArrival]:
        """One message pushed on a `pusher` source's channel (`data` as the event carries it),
        received at `received`: its items go through the same dedup, freshness and outbox as
        a poll's, at once. Returns what was new (already in the outbox); never raises for a
        message it cannot read or store (it logs why). Past the source's pushes_per_minute
        (bot.alerts.pushes.PushCap) new items are stored, not alerted nor returned, and the
        source's warning says so at once."""
        source = self.sources[name]
        self.pushes += 1
        try:
            items = pushed_items(message_of(data, source.message_field), name, source.url)
        except ParseError as exc:
            log.warning("source %s: a pushed message was not read: %s", name, exc.reason)
            self._count_push(name, "unread")
            return []
        if not items:
            log.info("source %s: a pushed message held no headline", name)
            self._count_push(name, "empty")
            return []
        state = await source_store.get(self.db, name)
        if state is None or state.disabled:
            return []
        # The push is the item's time: no page to fetch to date it before its alert.
        dated = {item.uid: received for item in items}
        cap = self.push_caps[name]
        held: list[NewArrival] = []
        try:
            async with self.db.transaction(serial=True):  # as a poll's
                await fanout.one_news_writer(self.db)
                arrivals = await self.ingestor.store(state, items, received, dated)
                admitted = cap.admit(len(arrivals), received)
                arrivals, held = arrivals[:admitted], arrivals[admitted:]
                await self._enqueue(state, arrivals, received)
                if held:
                    # Said at once, not at the next poll: the flood is under way now.
                    warning = with_push_problem(state.warning, self.push_problem(name, received))
                    if warning != state.warning:
                        await source_store.record_warning(self.db, state.id, warning, received)
        except (sqlite3.Error, StorageError, OSError) as exc:
            self.ingestor.forget()
            log.error(
                "source %s: cannot store a pushed message (%s); polling the site picks it up "
                "if the site lists it",
                name,
                exc,
            )
            return []
        if arrivals:
            self.wake_sender()
        self._count_push(name, "held" if held else "new" if arrivals else "seen")
        if held and cap.held == len(held):
            log.warning("source %s: %s", name, cap.problem(received))
        for item in items:
            new = any(a.item.uid == item.uid for a in arrivals)
            kept = any(a.item.uid == item.uid for a in held)
            outcome = "new" if new else "held back: a flood" if kept else "already seen"
            log.info("source %s: pushed «%s» (%s)", name, item.title, outcome)
        return arrivals

    def push_problem(self, name: str, now: datetime) -> str | None:
        """What is wrong with a `pusher` source's channel at `now` (its connection, a flood),
        for its warning; None when nothing is."""
        problems = [self.push_caps[name].problem(now)]
        if self.push_watch is not None and name in self.push_watch.clients:
            problems.insert(0, self.push_watch.clients[name].problem())
        return "; ".join(filter(None, problems)) or None

    def _count_push(self, name: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.pushes.labels(name, result).inc()

    async def _write_failed(self, state: SourceState, exc: Exception, now: datetime) -> None:
        """The poll's transaction rolled back (a full disk, a read-only file): nothing of it
        was stored, so what memory holds of it goes too, and the next poll redoes it."""
        self.ingestor.forget()
        reason = f"cannot store this poll ({exc})"
        log.error("source %s: %s; the next poll tries again", state.name, reason)
        try:
            # No backoff: the source is fine, and its news must be stored as soon as it can.
            await source_store.record_failure(self.db, state.id, now, reason, retry_at=now)
        except (sqlite3.Error, StorageError, OSError) as again:
            log.warning("source %s: cannot record the failure either (%s)", state.name, again)

    def _log_warnings(self, state: SourceState, result: PollResult) -> None:
        """Say it when a source starts, changes or stops warning; not at every poll."""
        if result.not_modified:
            return
        warning = result.warning
        if warning == state.warning:
            return
        if warning:
            log.warning("source %s: %s", state.name, warning)
        else:
            log.info("source %s: reads fully again", state.name)

    def _measure(self, name: str, result: str, started: float) -> None:
        if self.metrics is None:
            return
        self.metrics.fetches.labels(name, result).inc()
        self.metrics.fetch_seconds.labels(name).observe(time.monotonic() - started)
        if result != "failed":
            self.metrics.last_success.labels(name).set(time.time())

    async def _enqueue(self, state: SourceState, arrivals: list[NewArrival], now: datetime) -> None:
        """Start the fan-out of each new item, in the caller's transaction (a poll's or a
        push's). One batch of chats in all is written here, shared by the alerts, so that a
        flood of new items does not hold the writer for many batches: the fan-out walker
        writes the rest (bot/alerts/fanout.py)."""
        first = max(1, fanout.batch_size(self.db) // max(1, len(arrivals)))
        for arrival in arrivals:
            await fanout.enqueue_alert(
                self.db,
                item_id=arrival.item_id,
                source_id=state.id,
                urgent=arrival.urgent,
                story_id=arrival.story_id if arrival.duplicate else None,
                text=normalize(f"{arrival.item.title} {arrival.item.summary or ''}"),
                now=now,
                local_minute=local_minute(now, self.zone),
                story_window=self.config.news.dedup_window_hours * 3600,
                rate=self.config.alerts.messages_per_second,
                batch=first,
            )

    async def _failed(self, state: SourceState, reason: str, now: datetime) -> None:
        interval = timedelta(seconds=self.sources[state.name].interval)
        new = await self.ingestor.record_failure(state, reason, interval, now)
        level = logging.WARNING if new.consecutive_failures in (1, 5, 20) else logging.DEBUG
        log.log(
            level,
            "source %s failed (%d in a row): %s; next try at %s",
            state.name,
            new.consecutive_failures,
            reason,
            new.next_fetch_at.astimezone(self.zone).strftime("%H:%M:%S")
            if new.next_fetch_at
            else "-",
        )

    # -- digests ---------------------------------------------------------------------------

    async def send_digests(self) -> int:
        """Queue the digest of every subscriber whose digest time is this minute."""
        now = self.clock()
        minute = local_minute(now, self.zone)
        due = await subscribers.due_for_digest(
            self.db, minute, int((now - timedelta(hours=20)).timestamp())
        )
        for subscriber in due:
            await self._digest(subscriber, now)
        if due:
            self.wake_sender()
        return len(due)

    async def _digest(self, subscriber: Subscriber, now: datetime) -> None:
        since = now - timedelta(hours=24)
        if subscriber.digest_sent_at is not None:
            since = max(since, subscriber.digest_sent_at)
        words = await subscribers.filters(self.db, subscriber.chat_id)
        off = await subscribers.disabled_sources(self.db, subscriber.chat_id)
        entries = []
        for item in await items.since(self.db, since, limit=200):
            if item.source_id in off or item.story_id is not None:
                continue
            if words and not any(w in normalize(item.title) for w in words):
                continue
            entries.append(DigestEntry.of(item, self.config.source_title(item.source_name)))
            if len(entries) >= DIGEST_SIZE:
                break
        async with self.db.transaction():
            notice = await notices.create(self.db, "digest", digest_body(entries))
            await outbox.enqueue_notice(self.db, notice, [subscriber.chat_id], Priority.NORMAL)
            await subscribers.mark_digest_sent(self.db, subscriber.chat_id, int(now.timestamp()))
