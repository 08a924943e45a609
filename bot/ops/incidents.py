"""Telling the admins in Telegram when something needs them, once per incident: a source
failing for over 30 minutes, a source read without failing but warning for over 30 minutes
(no headlines found, a bot challenge, an urgent block its script fills...), an outbox backlog
of more than 10 minutes of sending, and at once a push channel flooding (its stories held back
past the source's pushes_per_minute). (A refused alert is reported by the sender the moment it
happens.)"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.compose.reasons import reasons_text
from bot.i18n import translator
from bot.news.push_client import FLOOD_PREFIX
from storage import Database, meta, outbox
from storage import sources as source_store
from storage.models import SourceState

log = logging.getLogger(__name__)
SOURCE_DOWN = timedelta(minutes=30)
# A source that answers but yields nothing is as useless as a failing one: the same threshold.
SOURCE_WARNING = SOURCE_DOWN
BACKLOG = timedelta(minutes=10)

Notify = Callable[[str], Awaitable[None]]


class Incidents:
    def __init__(
        self,
        db: Database,
        source_names: Sequence[str],
        rate: int,
        notify: Notify,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.source_names = set(source_names)
        self.rate = rate
        self.notify = notify
        self.clock = clock
        self.t = translator("ar")

    async def check(self) -> list[str]:
        """Look once; returns the messages sent (each incident is reported once)."""
        now = self.clock()
        sent: list[str] = []
        for state in await source_store.all_sources(self.db):
            if state.name not in self.source_names or state.disabled:
                continue
            key = f"incident:source:{state.name}"
            marker = await meta.get(self.db, key)
            if state.failing_since and now - state.failing_since > SOURCE_DOWN:
                since = str(int(state.failing_since.timestamp()))
                if marker != since:
                    minutes = int((now - state.failing_since).total_seconds() // 60)
                    text = self.t(
                        "incident-source-down",
                        name=state.name,
                        minutes=self.t.n("n-minutes", minutes),
                        failures=self.t.n("n-failures", state.consecutive_failures),
                        error=reasons_text(state.last_error or "?", self.t),
                    )
                    await self._send(text, sent)
                    await meta.put(self.db, key, since)
            elif marker and not state.failing_since:
                await self._send(self.t("incident-source-back", name=state.name), sent)
                await meta.put(self.db, key, "")
            await self._warning(state, now, sent)
            await self._flood(state, sent)
        pending = await outbox.pending_count(self.db, now)
        minutes_of_sending = pending / max(self.rate, 1) / 60
        backlog = await meta.get(self.db, "incident:backlog")
        if minutes_of_sending > BACKLOG.total_seconds() / 60 and not backlog:
            text = self.t(
                "incident-backlog",
                messages=self.t.n("n-messages", pending),
                minutes=self.t.n("n-minutes", round(minutes_of_sending)),
                rate=self.rate,
            )
            await self._send(text, sent)
            await meta.put(self.db, "incident:backlog", "1")
        elif backlog and minutes_of_sending < BACKLOG.total_seconds() / 120:
            await meta.put(self.db, "incident:backlog", "")
        return sent

    async def _flood(self, state: SourceState, sent: list[str]) -> None:
        """A push channel flooding: at once (a flood is said for ten minutes after its last
        story held back, never long enough for SOURCE_WARNING), then once when it is over."""
        key = f"incident:flood:{state.name}"
        marker = await meta.get(self.db, key)
        flooding = bool(state.warning) and FLOOD_PREFIX in (state.warning or "")
        since = state.warning_since
        if flooding and since is not None:
            stamp = str(int(since.timestamp()))
            if marker != stamp:
                why = reasons_text(state.warning or "", self.t)
                await self._send(self.t("incident-push-flood", name=state.name, why=why), sent)
                await meta.put(self.db, key, stamp)
        elif marker and not flooding:
            await self._send(self.t("incident-push-flood-over", name=state.name), sent)
            await meta.put(self.db, key, "")

    async def _warning(self, state: SourceState, now: datetime, sent: list[str]) -> None:
        """A source warning for longer than SOURCE_WARNING: once, then once when it stops."""
        if state.failing_since:
            return  # reported as failing; what its last read said can wait until it reads
        key = f"incident:warning:{state.name}"
        marker = await meta.get(self.db, key)
        since = state.warning_since
        if state.warning and since and now - since > SOURCE_WARNING:
            stamp = str(int(since.timestamp()))
            if marker != stamp:
                minutes = int((now - since).total_seconds() // 60)
                text = self.t(
                    "incident-source-warning",
                    name=state.name,
                    minutes=minutes,
                    why=reasons_text(state.warning, self.t),
                )
                await self._send(text, sent)
                await meta.put(self.db, key, stamp)
        elif marker and not state.warning:
            await self._send(self.t("incident-source-warning-over", name=state.name), sent)
            await meta.put(self.db, key, "")

    async def _send(self, text: str, sent: list[str]) -> None:
        log.warning("incident: %s", text)
        try:
            await self.notify(text)
        except Exception as exc:  # admins unreachable: the log line above still says it
            log.warning("could not tell the admins: %s", exc)
        sent.append(text)
