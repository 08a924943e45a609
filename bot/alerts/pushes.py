"""The live push channels of the `pusher` sources: one connection each, kept by the watcher.

Each pushed message goes to `Watcher.pushed` (the same dedup, freshness and outbox as a poll)
the moment it arrives. The server replays nothing that was pushed while Ajil was away, so
after every subscription, the first one included, the source is polled once at once (its
homepage and its feed or REST API, as `auto` reads them): what was published during a
reconnect, or before Ajil started, is caught up from the site, and what was both pushed and
polled is one item (same id), one alert.

A channel that floods (a hijacked or broken one pushing hundreds of stories a minute) must not
flood the subscribers: PushCap lets at most `pushes_per_minute` pushed stories of a source be
alerted in any 60 s; the rest are stored (never alerted later, never lost from /latest) and
the source warns "push channel flood", which /sources, `ajil fetch` and the admins' incident
show, until ten minutes pass without a story held back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.config import SourceConfig
from bot.news.push_client import FLOOD_PREFIX, PushClient, PushSettings
from bot.news.push_protocol import socket_url
from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)


FLOOD_WINDOW = timedelta(minutes=1)
# A flood is said (the source's warning) until this long has passed without a story held back.
FLOOD_MEMORY = timedelta(minutes=10)


class PushCap:
    """At most `per_minute` pushed stories of one source alerted in any FLOOD_WINDOW; what is
    over is held back (stored, not alerted) and counted for the source's warning."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._alerted: deque[datetime] = deque()
        self.held = 0  # stories held back since the flood began
        self.last_held: datetime | None = None

    def admit(self, count: int, now: datetime) -> int:
        """How many of `count` new stories pushed at `now` may be alerted (the first ones);
        the others are counted as held back."""
        while self._alerted and now - self._alerted[0] >= FLOOD_WINDOW:
            self._alerted.popleft()
        admitted = max(0, min(count, self.per_minute - len(self._alerted)))
        self._alerted.extend([now] * admitted)
        if admitted < count:
            if self.problem(now) is None:
                self.held = 0  # a new flood: count it from its start
            self.held += count - admitted
            self.last_held = now
        return admitted

    def problem(self, now: datetime) -> str | None:
        """The flood, for the source's warning, while a story was held back in the last
        FLOOD_MEMORY; else None."""
        if self.last_held is None or now - self.last_held >= FLOOD_MEMORY:
            return None
        return (
            f"{FLOOD_PREFIX}: {self.held} pushed stories held back (more than "
            f"{self.per_minute} a minute): stored, not alerted"
        )


def _connected(client: PushClient) -> Callable[[], float]:
    return lambda: float(client.connected)


class Watched(Protocol):
    """What a PushWatch needs of the watcher that owns it (bot.alerts.watcher.Watcher), named
    here so that the arrow runs one way: the watcher imports this module, not back."""

    @property
    def sources(self) -> Mapping[str, SourceConfig]: ...

    @property
    def metrics(self) -> Metrics | None: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    async def pushed(self, name: str, data: Any, received: datetime) -> Any: ...

    async def poll(self, name: str) -> list[Any]: ...


class PushWatch:
    """Runs one PushClient per `pusher` source of the watcher's configuration."""

    def __init__(self, watcher: Watched) -> None:
        self.watcher = watcher
        self.clients: dict[str, PushClient] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._catch_ups: set[asyncio.Task[Any]] = set()
        for name, source in watcher.sources.items():
            if source.kind != "pusher":
                continue
            assert source.key and source.channel and source.event  # config validated them
            settings = PushSettings(
                name,
                socket_url(source.key, source.cluster, source.ws_url),
                source.channel,
                source.event,
            )
            client = PushClient(settings, self._on_push(name), self._on_subscribed(name))
            self.clients[name] = client
            if watcher.metrics is not None:
                gauge = watcher.metrics.push_connected.labels(name)
                gauge.set_function(_connected(client))

    def start(self) -> None:
        """Open every channel (in the running event loop)."""
        for name, client in self.clients.items():
            self._tasks.append(asyncio.create_task(client.run(), name=f"push:{name}"))

    async def stop(self) -> None:
        """Close the channels and wait for catch-up polls under way to end."""
        for task in [*self._tasks, *self._catch_ups]:
            task.cancel()
        for task in [*self._tasks, *self._catch_ups]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def _on_push(self, name: str) -> Any:
        async def on_push(data: Any, _: float) -> None:
            try:
                await self.watcher.pushed(name, data, self.watcher.clock())
            except Exception:  # one bad message must not close the channel
                log.exception("source %s: error while reading a pushed message", name)

        return on_push

    def _on_subscribed(self, name: str) -> Any:
        async def on_subscribed(connection: int) -> None:
            if connection > 1:
                log.info("source %s: push channel back; catching up from the site", name)
            task = asyncio.create_task(self._catch_up(name, connection), name=f"catch-up:{name}")
            self._catch_ups.add(task)
            task.add_done_callback(self._catch_ups.discard)

        return on_subscribed

    async def _catch_up(self, name: str, connection: int) -> None:
        try:
            arrivals = await self.watcher.poll(name)
        except Exception:
            log.exception("source %s: catch-up poll failed", name)
            return
        if connection > 1:
            log.info(
                "source %s: caught up from the site after reconnecting: %d new",
                name,
                len(arrivals),
            )
